package auth

import (
	"strings"
	"testing"
)

// A JWKS fetched over plain http lets anyone on the path substitute keys;
// only the local stack's loopback fake may be served that way.
func TestJWKSURLMustBeHTTPSOffLoopback(t *testing.T) {
	t.Parallel()
	valid := func(u string) error { return Config{JWKSURL: u, Issuer: "x", Audience: "y"}.Validate() }
	for _, u := range []string{
		"https://iam.example/.well-known/jwks.json",
		"https://10.0.0.7/jwks",
		"http://127.0.0.1:41234/.well-known/jwks.json",
		"http://localhost:8080/jwks",
		"http://[::1]:8080/jwks",
	} {
		if err := valid(u); err != nil {
			t.Errorf("%s: %v, want it accepted", u, err)
		}
	}
	for _, u := range []string{
		"http://iam.example/.well-known/jwks.json",
		"http://10.0.0.7/jwks",
		"http://localhost.iam.example/jwks",
		"http://127.0.0.1.nip.io/jwks",
		"HTTP://iam.example/jwks",
	} {
		if err := valid(u); err == nil || !strings.Contains(err.Error(), "https") {
			t.Errorf("%s: %v, want it refused as not https", u, err)
		}
	}
}
