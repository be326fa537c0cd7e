// Package sessiontest holds the stand-in for tenant-service's operator
// directory that tests of the session's users share: tenant-service is an
// upstream this service does not own, so tests may fake it.
package sessiontest

import (
	"context"

	"github.com/melmastoon/bff-backoffice/shared/ids"
	"github.com/melmastoon/bff-backoffice/shared/session"
)

// PIIKey is a key for session.Options.PIIKey of the length it requires.
var PIIKey = []byte("test-pii-key-test-pii-key-test-pii")

// FrontDesk is a directory in which every operator may act as front desk
// at one property, Property, which is also their primary one.
type FrontDesk struct{ Property string }

// NewFrontDesk is FrontDesk at a fresh property.
func NewFrontDesk() FrontDesk { return FrontDesk{Property: ids.New(ids.Property)} }

// OperatorAccess implements session.AccessSource.
func (d FrontDesk) OperatorAccess(context.Context, string, string) (session.Access, error) {
	return session.Access{Roles: []string{"front_desk"}, PropertyScope: []string{d.Property}, PrimaryPropertyID: d.Property}, nil
}
