// Package mfachallenge is the `mfa-challenge` function: POST
// /v1/mfa/challenges — asks iam-service to challenge the operator for the
// step-up MFA a sensitive action needs (a door-key revoke, a refund, …),
// refused with FORBIDDEN_ROLE when the operator's roles may not take that
// action at all.
package mfachallenge

import (
	"context"
	"net/http"

	"github.com/melmastoon/bff-backoffice/shared/activity"
	"github.com/melmastoon/bff-backoffice/shared/boot"
	"github.com/melmastoon/bff-backoffice/shared/gate"
	"github.com/melmastoon/bff-backoffice/shared/idempotency/idemhttp"
	"github.com/melmastoon/bff-backoffice/shared/mfa"
	"github.com/melmastoon/bff-backoffice/shared/setup"
)

// Function is the `mfa-challenge` function as deployed.
var Function = boot.Function{Name: "mfa-challenge", EntryPoint: "MfaChallenge", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	m := b.MFA()
	return idemhttp.Mux(b, map[string]gate.Handler{
		"POST /v1/mfa/challenges": gate.WithBody(http.StatusCreated,
			activity.Note{Category: activity.CategoryAuth, Action: activity.ActionMFAChallengeCreate},
			func(ctx context.Context, c *gate.Call, req mfa.ChallengeRequest) (mfa.Challenge, activity.Note, error) {
				return m.Challenge(ctx, c.Actor, req)
			}),
	})
})}

func init() { Function.Register() }
