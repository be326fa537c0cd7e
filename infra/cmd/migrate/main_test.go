package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/schema"
	"github.com/melmastoon/bff-backoffice/shared/testenv"
)

func TestMigrate(t *testing.T) {
	t.Parallel()
	_, info := testenv.Postgres(t)
	wantVersion := "version " + strconv.Itoa(int(schema.Latest()))

	cases := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string
		wantErr    string
		notInError string
	}{
		{"already migrated, as owner", []string{"-database-url", info.OwnerURL}, 0, wantVersion + ", nothing to do", "", ""},
		{"already migrated, as admin", []string{"-database-url", info.AdminURL}, 0, "nothing to do", "", ""},
		{"no url", nil, 2, "", "usage: migrate", ""},
		{"stray argument", []string{"-database-url", info.OwnerURL, "up"}, 2, "", "usage: migrate", ""},
		{"not a url", []string{"-database-url", "postgres://u:hunter2@host:notaport/db"}, 1, "", "not a valid Postgres URL", "hunter2"},
		{"app role refused", []string{"-database-url", info.AppURL}, 1, "", "permission denied", ""},
		{"unreachable", []string{"-database-url", "postgres://bff_owner:hunter2@127.0.0.1:1/x?connect_timeout=2", "-timeout", "5s"}, 1, "", "connect", "hunter2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := realMain(context.Background(), tc.args, &out, &errOut)
			if code != tc.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tc.wantCode, errOut.String())
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("stdout = %q, want it to contain %q", out.String(), tc.wantOut)
			}
			if !strings.Contains(errOut.String(), tc.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", errOut.String(), tc.wantErr)
			}
			if tc.notInError != "" && strings.Contains(errOut.String(), tc.notInError) {
				t.Errorf("stderr leaks %q: %q", tc.notInError, errOut.String())
			}
		})
	}
}

func TestMigrateFreshDatabase(t *testing.T) {
	t.Parallel()
	_, info := testenv.Postgres(t)
	ctx := context.Background()
	var out, errOut bytes.Buffer
	fresh := info.Database + "_m"
	admin := strings.Replace(info.AdminURL, "/"+info.Database, "/postgres", 1)
	if err := execSQL(admin, "CREATE DATABASE "+fresh); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = execSQL(admin, "DROP DATABASE "+fresh+" WITH (FORCE)") })

	url := strings.Replace(info.AdminURL, "/"+info.Database, "/"+fresh, 1)
	if code := realMain(ctx, []string{"-database-url", url}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if want := "migrated from version 0 to " + strconv.Itoa(int(schema.Latest())); !strings.Contains(out.String(), want) {
		t.Errorf("stdout = %q, want %q", out.String(), want)
	}
}

func execSQL(url, sql string) error {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, sql)
	return err
}
