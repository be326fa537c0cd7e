package setup

import (
	"github.com/melmastoon/bff-backoffice/shared/mfa"
	"github.com/melmastoon/bff-backoffice/shared/upstream/iam"
)

// MFA is step-up MFA over the gate's Redis and iam-service
// (IAM_SERVICE_URL, IAM_SERVICE_TIMEOUT): what the MFA functions serve
// and what every action that needs an attestation spends it with.
func (b *Builder) MFA() *mfa.Service {
	return mfa.New(mfa.Deps{Redis: b.Res.Redis, IAM: dialFor(b, "iam", iam.NewClient)})
}
