package setup

import (
	"fmt"

	"github.com/melmastoon/bff-backoffice/shared/mfa"
	"github.com/melmastoon/bff-backoffice/shared/upstream/iam"
)

// MFA is step-up MFA over the gate's Redis and iam-service
// (IAM_SERVICE_URL, IAM_SERVICE_TIMEOUT): what the MFA functions serve
// and what every action that needs an attestation spends it with.
func (b *Builder) MFA() *mfa.Service {
	cl, err := dial(b.Ctx, b.L, iam.NewClient)
	if err != nil {
		b.Fail(fmt.Errorf("iam client: %w", err))
		return nil
	}
	return mfa.New(mfa.Deps{Redis: b.Res.Redis, IAM: cl})
}
