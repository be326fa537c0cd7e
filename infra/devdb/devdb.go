// Package devdb provisions the dev stack's database: roles, a database
// owned by bff_owner, migrations applied as a separate step (as in a
// deployment), and the URLs of each role.
package devdb

import (
	"context"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/bff-backoffice/shared/schema"
)

// URLs are the connection strings of the dev database per role.
type URLs struct {
	Owner, App, Jobs string
}

// Provision creates database name (if missing) on the cluster adminURL
// points at, migrates it and returns the role URLs. Roles get no password:
// the throw-away cluster trusts local connections.
func Provision(ctx context.Context, adminURL, name string) (URLs, error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return URLs{}, fmt.Errorf("devdb: admin URL: %w", err)
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return URLs{}, fmt.Errorf("devdb: connect: %w", err)
	}
	defer conn.Close(context.Background())
	if err := schema.EnsureRoles(ctx, conn); err != nil {
		return URLs{}, fmt.Errorf("devdb: %w", err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return URLs{}, fmt.Errorf("devdb: look up database: %w", err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" OWNER "+schema.OwnerRole); err != nil {
			return URLs{}, fmt.Errorf("devdb: create database: %w", err)
		}
	}
	mc, err := pgx.Connect(ctx, roleURL(u, "", name))
	if err != nil {
		return URLs{}, fmt.Errorf("devdb: connect %s: %w", name, err)
	}
	defer mc.Close(context.Background())
	if err := schema.Migrate(ctx, mc); err != nil {
		return URLs{}, fmt.Errorf("devdb: %w", err)
	}
	return URLs{
		Owner: roleURL(u, schema.OwnerRole, name),
		App:   roleURL(u, schema.AppRole, name),
		Jobs:  roleURL(u, schema.JobsRole, name),
	}, nil
}

func roleURL(base *url.URL, role, db string) string {
	u := *base
	if role != "" {
		u.User = url.User(role)
	}
	u.Path = "/" + db
	u.RawPath = ""
	return u.String()
}
