package rediskeys

import (
	"testing"
	"time"
)

// Running instances share these names and lifetimes: pinned.
func TestMFAKeys(t *testing.T) {
	t.Parallel()
	k := New("bffbo:")
	if got := k.MFAChallenge("ten_1", "chl_2"); got != "bffbo:mfachl:ten_1:chl_2" {
		t.Errorf("MFAChallenge = %q", got)
	}
	if got := k.MFAAttestation("ten_1", "mfa_2"); got != "bffbo:mfa:ten_1:mfa_2" {
		t.Errorf("MFAAttestation = %q", got)
	}
	if MFAAttestationTTL != 5*time.Minute || MFAMaxAttempts != 5 {
		t.Errorf("lifetimes changed: %v %d", MFAAttestationTTL, MFAMaxAttempts)
	}
}
