package proxied_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/access"
	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/actor"
	"github.com/melmastoon/bff-backoffice/shared/apperr"
	"github.com/melmastoon/bff-backoffice/shared/apperr/apperrtest"
	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/proxied"
	"github.com/melmastoon/bff-backoffice/shared/upstream/httpc"
)

func TestFound(t *testing.T) {
	t.Parallel()
	err := proxied.Found(fmt.Errorf("lookup: %w", httpc.ErrNotFound), "folio")
	apperrtest.WantCode(t, err, apperr.NotFound)
	if d := apperr.From(err).Detail; d != "no such folio" {
		t.Errorf("detail %q", d)
	}
	down := errors.New("connection refused")
	if err := proxied.Found(down, "folio"); err != down {
		t.Errorf("an outage became %v", err)
	}
}

// Out of scope is said before a missing role, and the row names the
// property either way.
func TestAuthorizeOrder(t *testing.T) {
	t.Parallel()
	in, out := ids.New(ids.Property), ids.New(ids.Property)
	a := actor.Actor{TenantID: ids.New(ids.Tenant), Roles: []string{"housekeeping_lead"}, PropertyScope: []string{in}}
	for _, c := range []struct {
		prop  string
		right access.Right
		want  apperr.Code
	}{
		{out, access.Override, apperr.PropertyOutOfScope},
		{in, access.Override, apperr.ForbiddenRole},
		{"prp_nope", access.DeskActions, apperr.ValidationFailed},
	} {
		var note activity.Note
		apperrtest.WantCode(t, proxied.Authorize(a, &note, c.prop, c.right), c.want)
		if note.PropertyID != c.prop {
			t.Errorf("note names %q, want %q", note.PropertyID, c.prop)
		}
	}
	a.Roles = []string{"manager"}
	var note activity.Note
	if err := proxied.Authorize(a, &note, in, access.Override); err != nil {
		t.Fatal(err)
	}
}
