package redisx_test

// TLS as Memorystore's in-transit encryption (SERVER_AUTHENTICATION) does
// it: the server presents a certificate of a private CA, the client checks
// it against REDIS_TLS_CA and sends no certificate of its own. The server
// here is a real redis-server started with --tls-port.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/melmastoon/bff-backoffice/shared/config"
	"github.com/melmastoon/bff-backoffice/shared/redisx"
)

// testCA is a CA that can issue server certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string
}

// newCert creates the certificate tmpl describes for a new P-256 key, signed
// by ca, or self-signed when ca is nil.
func newCert(t *testing.T, tmpl *x509.Certificate, ca *testCA) (der []byte, key *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func newCA(t *testing.T, name string) testCA {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, key := newCert(t, tmpl, nil)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{cert: cert, key: key, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

// issue returns the PEM of a server certificate for 127.0.0.1 and
// redis.test, and of its key.
func (ca testCA) issue(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "redis.test"},
		DNSNames:     []string{"redis.test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, key := newCert(t, tmpl, &ca)
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// writeFile writes data to dir/name, readable by its owner only, and
// returns the path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsRedis starts a redis-server that speaks only TLS, with a certificate
// of ca and requirepass, and returns its address. It skips the test when
// redis-server is missing or was built without TLS.
func tlsRedis(t *testing.T, ca testCA, password string) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		// make test starts redis-server for every Redis test; without it
		// this claim is unproven, which must not pass as green.
		t.Fatal("redis-server is not on PATH; the TLS round trip needs it")
	}
	dir := t.TempDir()
	certPEM, keyPEM := ca.issue(t)
	certFile, keyFile, caFile := writeFile(t, dir, "server.pem", certPEM), writeFile(t, dir, "server.key", keyPEM), writeFile(t, dir, "ca.pem", []byte(ca.pem))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	_ = ln.Close()

	var out strings.Builder
	cmd := exec.Command(bin,
		"--port", "0", "--tls-port", port, "--bind", "127.0.0.1",
		"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", caFile,
		"--tls-auth-clients", "no", "--requirepass", password,
		"--save", "", "--appendonly", "no", "--dir", dir)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			if strings.Contains(out.String(), "tls-port") || strings.Contains(out.String(), "TLS") {
				t.Fatalf("redis-server has no TLS support, so the TLS client is untested: %v\n%s", err, out.String())
			}
			t.Fatalf("redis-server exited: %v\n%s", err, out.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			_ = c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not listen on %s:\n%s", addr, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestOpenOverTLS(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "memorystore-like CA")
	const password = "s3cret-auth-string"
	addr := tlsRedis(t, ca, password)
	ctx := context.Background()
	caFile := writeFile(t, t.TempDir(), "ca.pem", []byte(ca.pem))

	open := func(cfg redisx.Config) (*redisx.Client, error) {
		cfg.Addr, cfg.Password, cfg.PoolSize, cfg.KeyPrefix = addr, password, 2, "tls:"
		rdb, err := redisx.Open(ctx, cfg)
		if err == nil {
			t.Cleanup(func() { _ = rdb.Close() })
		}
		return rdb, err
	}

	t.Run("CA as PEM, name from the address", func(t *testing.T) {
		rdb, err := open(redisx.Config{TLSCA: ca.pem})
		if err != nil {
			t.Fatalf("Open over TLS: %v", err)
		}
		key := rdb.Key("scratch")
		if err := rdb.Set(ctx, key, "v", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		if got, err := rdb.Get(ctx, key).Result(); err != nil || got != "v" {
			t.Fatalf("GET over TLS = %q, %v", got, err)
		}
	})
	t.Run("CA as a file, explicit server name", func(t *testing.T) {
		if _, err := open(redisx.Config{TLSCA: caFile, TLSServerName: "redis.test"}); err != nil {
			t.Fatalf("Open over TLS: %v", err)
		}
	})
	t.Run("another CA is refused", func(t *testing.T) {
		other := newCA(t, "impostor CA")
		_, err := open(redisx.Config{TLSCA: other.pem})
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("Open with a CA that did not sign the server's certificate = %v, want a certificate error", err)
		}
	})
	t.Run("a name the certificate lacks is refused", func(t *testing.T) {
		_, err := open(redisx.Config{TLSCA: ca.pem, TLSServerName: "other.test"})
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("Open expecting other.test = %v, want a certificate error", err)
		}
	})
	t.Run("the server speaks only TLS", func(t *testing.T) {
		// Without REDIS_TLS_CA the client speaks plain TCP, which this
		// server must not answer: the round trips above did use TLS.
		if _, err := open(redisx.Config{}); err == nil {
			t.Fatal("plain-TCP Open of a TLS-only server succeeded")
		}
	})
}

func TestTLSConfigValidation(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "ca")
	dir := t.TempDir()
	caFile := writeFile(t, dir, "ca.pem", []byte(ca.pem))
	junkFile := writeFile(t, dir, "junk.pem", []byte("not a certificate"))

	var cfg redisx.Config
	if err := config.LoadFrom(context.Background(), config.MapLookuper(map[string]string{
		"REDIS_ADDR": "10.0.0.3:6378", "REDIS_TLS_CA": ca.pem,
	}), &cfg); err != nil {
		t.Fatal(err)
	}
	tc, err := cfg.TLSConfig()
	if err != nil || tc == nil {
		t.Fatalf("TLSConfig from REDIS_TLS_CA = %v, %v", tc, err)
	}
	if tc.ServerName != "10.0.0.3" || tc.InsecureSkipVerify || tc.RootCAs == nil {
		t.Errorf("TLSConfig = {ServerName %q, InsecureSkipVerify %v, RootCAs %v}: want the address's host, verified against the CA", tc.ServerName, tc.InsecureSkipVerify, tc.RootCAs != nil)
	}
	if tc, err := (redisx.Config{Addr: "127.0.0.1:6379", PoolSize: 1}).TLSConfig(); tc != nil || err != nil {
		t.Errorf("TLSConfig without REDIS_TLS_CA = %v, %v; want nil, nil (plain TCP)", tc, err)
	}

	bad := []struct {
		name string
		cfg  redisx.Config
		want string
	}{
		{"PEM without a certificate", redisx.Config{TLSCA: "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"}, "no PEM certificate"},
		{"missing file", redisx.Config{TLSCA: filepath.Join(dir, "absent.pem")}, "REDIS_TLS_CA"},
		{"file without a certificate", redisx.Config{TLSCA: junkFile}, "no PEM certificate"},
		{"server name without CA", redisx.Config{TLSServerName: "redis.test"}, "REDIS_TLS_SERVER_NAME"},
		{"address without host", redisx.Config{TLSCA: caFile, Addr: "6378"}, "REDIS_ADDR"},
	}
	for _, c := range bad {
		if c.cfg.Addr == "" {
			c.cfg.Addr = "10.0.0.3:6378"
		}
		c.cfg.PoolSize = 1
		err := c.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate = %v, want an error naming %s", c.name, err, c.want)
		}
		if _, err := redisx.Open(context.Background(), c.cfg); err == nil {
			t.Errorf("%s: Open succeeded; a broken TLS setting must stop the start", c.name)
		}
	}
}
