// Package mfaverify is the `mfa-verify` function: POST
// /v1/mfa/challenges/{challengeId}/verify — presents the operator's code to
// iam-service and, when it is right, answers with an MfaAttestation
// (mfa_…, 5 minutes, single use) for the one action it allows. Five wrong
// codes close the challenge; iam-service's own token stays server-side.
package mfaverify

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

// Function is the `mfa-verify` function as deployed.
var Function = boot.Function{Name: "mfa-verify", EntryPoint: "MfaVerify", StartHTTP: setup.Gated(func(b *setup.Builder) http.Handler {
	m := b.MFA()
	return idemhttp.Mux(b, map[string]gate.Handler{
		"POST /v1/mfa/challenges/{challengeId}/verify": gate.WithBody(http.StatusCreated,
			activity.Note{Category: activity.CategoryAuth, Action: activity.ActionMFAChallengeVerify},
			func(ctx context.Context, c *gate.Call, req mfa.VerifyRequest) (mfa.Attestation, activity.Note, error) {
				return m.Verify(ctx, c.Actor, c.Request.PathValue("challengeId"), req)
			}),
	})
})}

func init() { Function.Register() }
