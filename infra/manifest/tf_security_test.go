package manifest_test

// Transport security and edge protection of terraform/: Memorystore speaks
// TLS and the functions trust its CA, the database URLs verify the server
// (verify-full with the instance's CA), the load balancer's backends have a
// Cloud Armor policy with a per-IP rate limit by default, and the JWKS URL
// variable takes https only. Each test reads the .tf files as written, so
// reverting any of these fails it.

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/melmastoon/bff-backoffice/shared/redisx"
)

// tfResource returns the root module's resource typ.name.
func tfResource(t *testing.T, files map[string][]tfBlock, typ, name string) tfBlock {
	t.Helper()
	for _, blocks := range files {
		for _, b := range blocks {
			if b.Type == "resource" && len(b.Labels) == 2 && b.Labels[0] == typ && b.Labels[1] == name {
				return b
			}
		}
	}
	t.Fatalf("terraform/*.tf: no resource %s.%s", typ, name)
	return tfBlock{}
}

// tfLocalExpr returns the raw expression of a root-module local.
func tfLocalExpr(t *testing.T, files map[string][]tfBlock, name string) string {
	t.Helper()
	for _, blocks := range files {
		for _, b := range blocks {
			if expr, ok := b.Attrs[name]; ok && b.Type == "locals" {
				return expr
			}
		}
	}
	t.Fatalf("terraform/*.tf defines no local %q", name)
	return ""
}

// tfVariable returns the root module's variable block.
func tfVariable(t *testing.T, files map[string][]tfBlock, name string) tfBlock {
	t.Helper()
	for _, blocks := range files {
		for _, b := range blocks {
			if b.Type == "variable" && len(b.Labels) == 1 && b.Labels[0] == name {
				return b
			}
		}
	}
	t.Fatalf("terraform/*.tf declares no variable %q", name)
	return tfBlock{}
}

// nested returns b's sub-blocks of type typ.
func nested(b tfBlock, typ string) []tfBlock {
	var out []tfBlock
	for _, c := range b.Blocks {
		if c.Type == typ {
			out = append(out, c)
		}
	}
	return out
}

// mapEntry finds `key = value` in a map expression's raw text.
func mapEntry(expr, key string) string {
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(key) + `\s*=\s*(.+?)\s*$`).FindStringSubmatch(expr)
	if m == nil {
		return ""
	}
	return m[1]
}

// envTag reports whether struct type v has a field read from env var name.
func envTag(v any, name string) bool {
	rt := reflect.TypeOf(v)
	for i := range rt.NumField() {
		tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("env"), ",")
		if tag == name {
			return true
		}
	}
	return false
}

func TestTerraformRedisUsesTLS(t *testing.T) {
	t.Parallel()
	root, _ := repo(t)
	files := tfFiles(t, root)
	redis := tfResource(t, files, "google_redis_instance", "bff")
	if got := redis.Attrs["transit_encryption_mode"]; got != `"SERVER_AUTHENTICATION"` {
		t.Errorf("google_redis_instance.bff: transit_encryption_mode = %s, want \"SERVER_AUTHENTICATION\" (the AUTH string and every session cross the VPC)", got)
	}
	if auth := redis.Attrs["auth_enabled"]; auth != "true" {
		t.Errorf("google_redis_instance.bff: auth_enabled = %q, want true", auth)
	}
	if ca := tfLocalExpr(t, files, "redis_server_ca_pem"); !strings.Contains(ca, "google_redis_instance.bff.server_ca_certs") {
		t.Errorf("local.redis_server_ca_pem = %s: want the instance's server_ca_certs", ca)
	}
	if v := mapEntry(tfLocalExpr(t, files, "secret_values"), "redis_ca"); v != "local.redis_server_ca_pem" {
		t.Errorf("local.secret_values.redis_ca = %q, want local.redis_server_ca_pem", v)
	}
	secretID, _ := stringLiteral(mapEntry(tfLocalExpr(t, files, "secret_ids"), "redis_ca"))
	if secretID == "" {
		t.Fatal("local.secret_ids has no redis_ca")
	}
	fn, err := os.ReadFile(filepath.Join(root, "terraform", "modules", "function", "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`contains\(local\.needs, "redis"\) \?[^\n]*var\.platform\.secrets\["redis_ca"\]`).Match(fn) {
		t.Error("modules/function grants no access to the redis_ca secret")
	}
	// The functions read it as REDIS_TLS_CA, which shared/redisx knows.
	if !envTag(redisx.Config{}, "REDIS_TLS_CA") {
		t.Error("shared/redisx.Config reads no REDIS_TLS_CA")
	}
	_, cmds := dryRun(t, root)
	for _, dc := range cmds {
		secrets := dc.flags["--set-secrets"]
		if strings.Contains(secrets, "REDIS_PASSWORD=") && !strings.Contains(secrets, "REDIS_TLS_CA="+secretID+":") {
			t.Errorf("deploy %s: --set-secrets=%s: a Redis user without REDIS_TLS_CA=%s", dc.function, secrets, secretID)
		}
	}
}

func TestTerraformDatabaseURLsVerifyTheServer(t *testing.T) {
	t.Parallel()
	root, _ := repo(t)
	files := tfFiles(t, root)
	sql := tfResource(t, files, "google_sql_database_instance", "bff")
	var ipc []tfBlock
	for _, s := range nested(sql, "settings") {
		ipc = append(ipc, nested(s, "ip_configuration")...)
	}
	if len(ipc) != 1 {
		t.Fatalf("google_sql_database_instance.bff: %d ip_configuration blocks, want 1", len(ipc))
	}
	switch m := ipc[0].Attrs["ssl_mode"]; m {
	case `"ENCRYPTED_ONLY"`, `"TRUSTED_CLIENT_CERTIFICATE_REQUIRED"`:
	default:
		t.Errorf("Cloud SQL ssl_mode = %s: want TLS required", m)
	}
	// The per-instance CA's certificates name no host: verify-full needs a
	// CAS-based CA, whose certificate carries the instance's DNS name.
	switch m := ipc[0].Attrs["server_ca_mode"]; m {
	case `"GOOGLE_MANAGED_CAS_CA"`, `"CUSTOMER_MANAGED_CAS_CA"`:
	default:
		t.Errorf("Cloud SQL server_ca_mode = %q: want a CAS-based CA (a certificate with the instance's DNS name)", m)
	}

	urls := tfLocalExpr(t, files, "database_urls")
	format := regexp.MustCompile(`format\(\s*("(?:[^"\\]|\\.)*")`).FindStringSubmatch(urls)
	if format == nil {
		t.Fatalf("local.database_urls = %s: want format(\"postgres://…\", …)", urls)
	}
	pattern, err := strconv.Unquote(format[1])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pattern, "sslmode=verify-full") || strings.Count(pattern, "sslmode=") != 1 {
		t.Errorf("database URL format %q: want sslmode=verify-full and no other sslmode", pattern)
	}
	if strings.Contains(urls, "private_ip_address") || !strings.Contains(urls, "local.sql_host") {
		t.Errorf("local.database_urls = %s: the host must be local.sql_host (the name in the certificate), not the IP", urls)
	}
	if host := tfLocalExpr(t, files, "sql_host"); !strings.Contains(host, "google_sql_database_instance.bff.dns_name") {
		t.Errorf("local.sql_host = %s: want the instance's dns_name", host)
	}
	caPath := tfLocal(t, files, "sql_ca_path")
	if !strings.Contains(urls, "sslrootcert=${local.sql_ca_path}") {
		t.Errorf("local.database_urls = %s: the functions' URLs must name the CA file (sslrootcert=${local.sql_ca_path})", urls)
	}
	// The name resolves inside the VPC.
	rec := tfResource(t, files, "google_dns_record_set", "sql")
	if !strings.Contains(rec.Attrs["rrdatas"], "google_sql_database_instance.bff.private_ip_address") {
		t.Errorf("google_dns_record_set.sql: rrdatas = %s, want the instance's private IP", rec.Attrs["rrdatas"])
	}
	if zone := tfResource(t, files, "google_dns_managed_zone", "sql"); !strings.Contains(zone.Attrs["dns_name"], "local.sql_host") || zone.Attrs["visibility"] != `"private"` {
		t.Errorf("google_dns_managed_zone.sql: dns_name = %s, visibility = %s; want a private zone for local.sql_host", zone.Attrs["dns_name"], zone.Attrs["visibility"])
	}

	if v := mapEntry(tfLocalExpr(t, files, "secret_values"), "sql_ca"); v != "local.sql_server_ca_pem" {
		t.Errorf("local.secret_values.sql_ca = %q, want local.sql_server_ca_pem", v)
	}
	if ca := tfLocalExpr(t, files, "sql_server_ca_pem"); !strings.Contains(ca, "data.google_sql_ca_certs.bff.certs") {
		t.Errorf("local.sql_server_ca_pem = %s: want every CA of data.google_sql_ca_certs.bff", ca)
	}
	secretID, _ := stringLiteral(mapEntry(tfLocalExpr(t, files, "secret_ids"), "sql_ca"))
	if secretID == "" {
		t.Fatal("local.secret_ids has no sql_ca")
	}
	fn, err := os.ReadFile(filepath.Join(root, "terraform", "modules", "function", "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`local\.uses_postgres \?[^\n]*var\.platform\.secrets\["sql_ca"\]`).Match(fn) {
		t.Error("modules/function grants Postgres users no access to the sql_ca secret")
	}
	// Every function with a database URL has the CA file where the URL
	// says it is.
	_, cmds := dryRun(t, root)
	for _, dc := range cmds {
		secrets := dc.flags["--set-secrets"]
		if strings.Contains(secrets, "DATABASE_URL=") && !strings.Contains(secrets, caPath+"="+secretID+":") {
			t.Errorf("deploy %s: --set-secrets=%s: no %s=%s mount for sslrootcert", dc.function, secrets, caPath, secretID)
		}
	}
}

func TestTerraformLoadBalancerHasCloudArmor(t *testing.T) {
	t.Parallel()
	root, _ := repo(t)
	files := tfFiles(t, root)
	be := tfResource(t, files, "google_compute_backend_service", "fn")
	policyRef := be.Attrs["security_policy"]
	if !strings.Contains(policyRef, "google_compute_security_policy.api") {
		t.Fatalf("google_compute_backend_service.fn: security_policy = %q, want the Cloud Armor policy of lb.tf by default", policyRef)
	}
	policy := tfResource(t, files, "google_compute_security_policy", "api")
	// An override may replace the policy, never remove it: without one the
	// policy exists and is the one attached.
	if override := tfVariable(t, files, "lb_security_policy"); override.Attrs["default"] != "null" {
		t.Errorf("var.lb_security_policy default = %q, want null (our policy unless one is given)", override.Attrs["default"])
	}
	if c, ok := policy.Attrs["count"]; ok && c != "var.lb_security_policy == null ? 1 : 0" {
		t.Errorf("google_compute_security_policy.api: count = %s, want it created whenever no other policy is given", c)
	}
	if c := policyRef; strings.Contains(c, "var.lb_security_policy") && c != "var.lb_security_policy != null ? var.lb_security_policy : google_compute_security_policy.api[0].id" {
		t.Errorf("security_policy = %s: want var.lb_security_policy, or else ours", c)
	}

	var limited, defaultAllow bool
	for _, r := range nested(policy, "rule") {
		action, _ := stringLiteral(r.Attrs["action"])
		if r.Attrs["priority"] == "2147483647" {
			defaultAllow = action == "allow"
			continue
		}
		if action != "throttle" && action != "rate_based_ban" {
			continue
		}
		for _, o := range nested(r, "rate_limit_options") {
			for _, th := range nested(o, "rate_limit_threshold") {
				ref := strings.TrimPrefix(th.Attrs["count"], "var.")
				if o.Attrs["enforce_on_key"] != `"IP"` || ref == th.Attrs["count"] {
					continue
				}
				def, err := strconv.Atoi(tfVariable(t, files, ref).Attrs["default"])
				if err != nil || def < 10 || def > 10000 {
					t.Errorf("var.%s default = %q: want a sane per-IP threshold", ref, tfVariable(t, files, ref).Attrs["default"])
				}
				if exceed := o.Attrs["exceed_action"]; !strings.HasPrefix(exceed, `"deny(`) {
					t.Errorf("rate limit exceed_action = %s, want a deny", exceed)
				}
				limited = true
			}
		}
	}
	if !limited {
		t.Error("google_compute_security_policy.api: no throttle or rate_based_ban rule keyed on IP with a threshold from a variable")
	}
	if !defaultAllow {
		t.Error("google_compute_security_policy.api: the default rule (priority 2147483647) must allow")
	}
}

func TestTerraformJWKSURLMustBeHTTPS(t *testing.T) {
	t.Parallel()
	root, _ := repo(t)
	files := tfFiles(t, root)
	v := tfVariable(t, files, "iam_jwks_url")
	validations := nested(v, "validation")
	if len(validations) == 0 {
		t.Fatal("variable iam_jwks_url has no validation: an http:// JWKS would be accepted")
	}
	// Terraform's regex() is Go's RE2, so the condition can be run here.
	cond := regexp.MustCompile(`^can\(regex\(("(?:[^"\\]|\\.)*"), var\.iam_jwks_url\)\)$`).FindStringSubmatch(validations[0].Attrs["condition"])
	if cond == nil {
		t.Fatalf("iam_jwks_url validation condition = %s: want can(regex(\"…\", var.iam_jwks_url))", validations[0].Attrs["condition"])
	}
	pattern, err := strconv.Unquote(cond[1])
	if err != nil {
		t.Fatal(err)
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"https://iam.melmastoon.example/.well-known/jwks.json", "https://iam.example:8443/jwks"} {
		if !re.MatchString(u) {
			t.Errorf("iam_jwks_url validation refuses %s", u)
		}
	}
	for _, u := range []string{"http://iam.melmastoon.example/.well-known/jwks.json", "http://127.0.0.1/jwks", "iam.example/jwks", "https://", " https://iam.example/jwks", "ftp://iam.example/jwks"} {
		if re.MatchString(u) {
			t.Errorf("iam_jwks_url validation accepts %q", u)
		}
	}
}
