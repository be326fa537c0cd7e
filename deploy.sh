#!/usr/bin/env bash
# Deploys the back-office BFF: runs the schema migrations, then deploys every
# function listed in functions/manifest.json as a Cloud Run function (gen2).
#
#   ./deploy.sh [--dry-run] [--only name,...] PROJECT REGION
#
#   --dry-run   print the commands (migrations, vendoring, gcloud) without
#               running any of them; needs neither gcloud nor a database
#   --only      deploy only these functions (migrations still run first)
#
# Division of labour (see terraform/README.md): terraform, applied before this
# script, owns the platform (network, VPC connector, Redis, Cloud SQL, Firestore,
# topics, BigQuery, secrets, load balancer) and every function's identities and
# grants (runtime and invoker service accounts, Cloud Scheduler jobs). This
# script owns the function resources: code, runtime config, the Eventarc
# trigger that `--trigger-topic` creates as part of a function, and the invoker
# binding on each function's Cloud Run service, which cannot be granted before
# that service exists.
#
# Runtime configuration comes from the environment; terraform prints it:
#   eval "$(terraform -chdir=terraform output -raw deploy_env)"
#   OWNER_DATABASE_URL     bff_owner's URL, reachable from here (not needed with --dry-run)
#   PGSSLROOTCERT          Cloud SQL's server CA file (secret bff-sql-server-ca): the
#                          owner URL says sslmode=verify-full and names no CA file
#   BFF_REDIS_ADDR         host:port of Memorystore                (functions that need redis)
#   BFF_IAM_JWKS_URL       iam-service JWKS                         (need iam)
#   BFF_IAM_ISSUER         iam-service token issuer                 (need iam)
#   BFF_JWT_AUDIENCE       default melmastoon-bff-backoffice        (need iam)
#   BFF_TENANT_SERVICE_URL tenant-service base URL                  (need tenant)
#   BFF_UPSTREAM_ENV       NAME=URL,NAME=URL passed verbatim        (need upstreams)
#   BFF_VPC_CONNECTOR      default bff-connector                    (need postgres/jobs-postgres/redis)
#   BFF_LOG_LEVEL          default info
set -euo pipefail

# Names shared with terraform/naming.tf and terraform/secrets.tf; the manifest
# test (infra/manifest) fails when the two sides disagree.
readonly FUNCTION_PREFIX="bff-"
readonly RUNTIME_SA_PREFIX="bff-fn-"
readonly INVOKER_SA_PREFIX="bff-iv-"
readonly SECRET_APP_DATABASE_URL="bff-database-url-app"
readonly SECRET_JOBS_DATABASE_URL="bff-database-url-jobs"
readonly SECRET_REDIS_PASSWORD="bff-redis-password"
readonly SECRET_PII_HASH_KEY="bff-pii-hash-key"
readonly SECRET_REDIS_CA="bff-redis-ca"
readonly SECRET_SQL_CA="bff-sql-server-ca"
# The sslrootcert of the database URLs (terraform local.sql_ca_path).
readonly SQL_CA_PATH="/etc/secrets/bff-sql-ca/server-ca.pem"
readonly RUNTIME="go126"

usage() {
	sed -n '4,8s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

die() {
	printf 'deploy.sh: %s\n' "$*" >&2
	exit 1
}

dry_run=false
only=""
while (($# > 0)); do
	case "$1" in
	--dry-run)
		dry_run=true
		shift
		;;
	--only)
		(($# >= 2)) || die "--only needs a comma-separated list of function names"
		only=$2
		shift 2
		;;
	--only=*)
		only=${1#--only=}
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	--)
		shift
		break
		;;
	-*)
		usage >&2
		die "unknown flag $1"
		;;
	*) break ;;
	esac
done
if (($# != 2)); then
	usage >&2
	exit 2
fi
readonly project=$1 region=$2
readonly dry_run only

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly repo
cd "$repo"

# show prints a command as a shell could re-read it; run shows it and, unless
# this is a dry run, runs it. Dry-run output goes to stdout (it is the
# product); a real run traces to stderr.
show() {
	local line
	line=$(printf '%q ' "$@")
	if $dry_run; then
		printf '%s\n' "${line% }"
	else
		printf '+ %s\n' "${line% }" >&2
	fi
}
run() {
	show "$@"
	if ! $dry_run; then
		"$@"
	fi
}

command -v go >/dev/null || die "go is not on PATH"
if ! $dry_run; then
	command -v gcloud >/dev/null || die "gcloud is not on PATH"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/bff-deploy.XXXXXX")
readonly work
trap 'rm -rf "$work"' EXIT

# The manifest is the only list of functions; read it through the Go tool so
# that it is validated exactly as the tests validate it.
go build -o "$work/manifest" ./infra/cmd/manifest
manifest() { "$work/manifest" -root "$repo" "$@"; }

# Captured first: a failing process substitution would go unnoticed.
listing=$(manifest list)
declare -a names=() kinds=() entries=() triggers=()
while read -r name kind entry trigger; do
	names+=("$name")
	kinds+=("$kind")
	entries+=("$entry")
	triggers+=("$trigger")
done <<<"$listing"
((${#names[@]} > 0)) || die "functions/manifest.json lists no functions"

declare -A selected=()
if [[ -n $only ]]; then
	IFS=, read -r -a wanted <<<"$only"
	for w in "${wanted[@]}"; do
		found=false
		for n in "${names[@]}"; do
			[[ $n == "$w" ]] && found=true
		done
		$found || die "--only: no function \"$w\" in functions/manifest.json"
		selected[$w]=1
	done
fi
is_selected() { [[ -z $only || -n ${selected[$1]:-} ]]; }

# conf VAR [DEFAULT] sets REPLY to the variable's value. A dry run shows a
# placeholder for an unset one; a real run records it as missing, and the
# deploy stops before anything runs. (REPLY, not stdout: a command
# substitution would run in a subshell and lose the record.)
declare -A missing=()
conf() {
	local var=$1 default=${2:-}
	REPLY=${!var:-$default}
	if [[ -z $REPLY ]]; then
		if $dry_run; then
			REPLY="<$var>"
		else
			missing[$var]=1
		fi
	fi
}

has_need() { # has_need "needs words" need
	[[ " $1 " == *" $2 "* ]]
}

# yaml_kv writes one entry of a gcloud --env-vars-file as a double-quoted
# YAML scalar, so URLs and commas need no further escaping.
yaml_kv() {
	local v=$2
	v=${v//\\/\\\\}
	v=${v//\"/\\\"}
	printf '%s: "%s"\n' "$1" "$v"
}

# env_file NAME NEEDS writes the function's --env-vars-file to
# $work/env/NAME.yaml.
env_file() {
	local name=$1 needs=$2
	mkdir -p "$work/env"
	exec 3>"$work/env/$name.yaml"
	yaml_kv GOOGLE_CLOUD_PROJECT "$project" >&3
	conf BFF_LOG_LEVEL info
	yaml_kv LOG_LEVEL "$REPLY" >&3
	if has_need "$needs" redis; then
		conf BFF_REDIS_ADDR
		yaml_kv REDIS_ADDR "$REPLY" >&3
	fi
	if has_need "$needs" iam; then
		conf BFF_IAM_JWKS_URL
		yaml_kv IAM_JWKS_URL "$REPLY" >&3
		conf BFF_IAM_ISSUER
		yaml_kv IAM_ISSUER "$REPLY" >&3
		conf BFF_JWT_AUDIENCE melmastoon-bff-backoffice
		yaml_kv JWT_AUDIENCE "$REPLY" >&3
	fi
	if has_need "$needs" tenant; then
		conf BFF_TENANT_SERVICE_URL
		yaml_kv TENANT_SERVICE_URL "$REPLY" >&3
	fi
	if has_need "$needs" bigquery || has_need "$needs" bigquery-read; then
		# terraform/bigquery.tf
		yaml_kv BIGQUERY_DATASET melmastoon_audit >&3
		yaml_kv BIGQUERY_TABLE operator_activity >&3
		conf BFF_BIGQUERY_LOCATION
		yaml_kv BIGQUERY_LOCATION "$REPLY" >&3
	fi
	if has_need "$needs" upstreams; then
		local -a pairs=()
		local pair
		conf BFF_UPSTREAM_ENV
		IFS=, read -r -a pairs <<<"$REPLY"
		for pair in "${pairs[@]}"; do
			if [[ $pair != *=* ]]; then
				$dry_run || die "BFF_UPSTREAM_ENV: \"$pair\" is not NAME=URL"
				continue
			fi
			yaml_kv "${pair%%=*}" "${pair#*=}" >&3
		done
	fi
	exec 3>&-
}

# secrets_flag KIND NEEDS prints the --set-secrets value (empty when none).
# Mirrors terraform/modules/function, which grants access to exactly these.
secrets_flag() {
	local kind=$1 needs=$2
	local -a s=()
	if has_need "$needs" postgres; then
		s+=("DATABASE_URL=$SECRET_APP_DATABASE_URL:latest")
	fi
	# The request gate of every HTTP function hashes IPs and user agents.
	if [[ $kind == http ]] || has_need "$needs" postgres; then
		s+=("PII_HASH_KEY=$SECRET_PII_HASH_KEY:latest")
	fi
	if has_need "$needs" jobs-postgres; then
		s+=("JOBS_DATABASE_URL=$SECRET_JOBS_DATABASE_URL:latest")
	fi
	# A file, not a variable: the URLs' sslrootcert names it.
	if has_need "$needs" postgres || has_need "$needs" jobs-postgres; then
		s+=("$SQL_CA_PATH=$SECRET_SQL_CA:latest")
	fi
	if has_need "$needs" redis; then
		s+=("REDIS_PASSWORD=$SECRET_REDIS_PASSWORD:latest")
		# Memorystore speaks TLS only (SERVER_AUTHENTICATION).
		s+=("REDIS_TLS_CA=$SECRET_REDIS_CA:latest")
	fi
	local IFS=,
	printf '%s' "${s[*]}"
}

# Build every command first, so that missing configuration stops the deploy
# before the migrations touch the database.
declare -a plan_names=() plan_envs=() plan_cmds=() plan_bind=()
for i in "${!names[@]}"; do
	name=${names[$i]} kind=${kinds[$i]} entry=${entries[$i]} trigger=${triggers[$i]}
	is_selected "$name" || continue
	needs=$(manifest needs "$name")
	sizing=$(manifest sizing "$name")
	read -r timeout memory cpu concurrency min_instances max_instances <<<"$sizing"

	fn="$FUNCTION_PREFIX$name"
	src="$work/src/functions/$name"
	env_file "$name" "$needs"
	envf="$work/env/$name.yaml"
	cmd=(gcloud functions deploy "$fn" --gen2
		--project="$project" --region="$region"
		--runtime="$RUNTIME" --entry-point="$entry" --source="$src"
		--service-account="$RUNTIME_SA_PREFIX$name@$project.iam.gserviceaccount.com"
		--memory="$memory" --cpu="$cpu" --concurrency="$concurrency"
		--timeout="${timeout}s" --min-instances="$min_instances" --max-instances="$max_instances"
		--env-vars-file="$envf"
		--update-labels="app=bff-backoffice,function=$name"
		--quiet)
	secrets=$(secrets_flag "$kind" "$needs")
	if [[ -n $secrets ]]; then
		cmd+=(--set-secrets="$secrets")
	else
		cmd+=(--clear-secrets)
	fi
	# Postgres and Redis have private IPs only; everything else (upstream
	# services, Google APIs) is reached directly.
	if has_need "$needs" postgres || has_need "$needs" jobs-postgres || has_need "$needs" redis; then
		conf BFF_VPC_CONNECTOR bff-connector
		cmd+=(--vpc-connector="projects/$project/locations/$region/connectors/$REPLY"
			--egress-settings=private-ranges-only)
	else
		cmd+=(--clear-vpc-connector)
	fi
	bind=""
	case $kind in
	http)
		# Public behind the external Application Load Balancer: callers are
		# desktop clients with iam-service JWTs, not Google identities, so
		# Cloud Run IAM cannot authenticate them; every function verifies the
		# JWT itself, and ingress admits only the load balancer.
		cmd+=(--trigger-http --allow-unauthenticated --ingress-settings=internal-and-gclb)
		;;
	event)
		cmd+=(--trigger-topic="$trigger"
			--trigger-service-account="$INVOKER_SA_PREFIX$name@$project.iam.gserviceaccount.com"
			--retry --ingress-settings=internal-only)
		bind=$INVOKER_SA_PREFIX$name
		;;
	scheduled)
		# Cloud Scheduler (terraform) calls it with an OIDC token of its
		# invoker service account.
		cmd+=(--trigger-http --no-allow-unauthenticated --ingress-settings=internal-only)
		bind=$INVOKER_SA_PREFIX$name
		;;
	*) die "$name: unknown kind $kind" ;;
	esac
	plan_names+=("$name")
	plan_envs+=("$envf")
	plan_cmds+=("$(printf '%q ' "${cmd[@]}")")
	plan_bind+=("$bind")
done
((${#plan_names[@]} > 0)) || die "nothing to deploy"

if ! $dry_run; then
	for name in "${plan_names[@]}"; do
		[[ -f "functions/$name/go.mod" ]] || die "functions/$name/go.mod is missing"
	done
	[[ -n ${OWNER_DATABASE_URL:-} ]] || missing[OWNER_DATABASE_URL]=1
	if ((${#missing[@]} > 0)); then
		die "set these first (see the header of deploy.sh): ${!missing[*]}"
	fi
fi

echo "# 1. migrations (as bff_owner)"
# Shown with the variable name, never its value: the URL holds a password.
if $dry_run; then
	# shellcheck disable=SC2016 # printed for the reader, not expanded
	printf '%s\n' 'go run ./infra/cmd/migrate -database-url "$OWNER_DATABASE_URL"'
else
	# shellcheck disable=SC2016
	printf '+ %s\n' 'go run ./infra/cmd/migrate -database-url "$OWNER_DATABASE_URL"' >&2
	go run ./infra/cmd/migrate -database-url "$OWNER_DATABASE_URL"
fi

# The buildpack sees only the uploaded folder and ignores go.work, so each
# function is vendored — in a copy beside a copy of shared/, never in the
# working tree, where vendor/ must not appear.
echo "# 2. functions"
run mkdir -p "$work/src/functions"
run cp -R "$repo/shared" "$work/src/shared"
for i in "${!plan_names[@]}"; do
	name=${plan_names[$i]}
	src="$work/src/functions/$name"
	echo "# $name"
	run cp -R "$repo/functions/$name" "$src"
	run rm -rf "$src/vendor"
	if $dry_run; then
		printf '(cd %q && GOWORK=off GOFLAGS=-mod=mod go mod vendor)\n' "$src"
	else
		printf '+ (cd %q && GOWORK=off GOFLAGS=-mod=mod go mod vendor)\n' "$src" >&2
	fi
	if ! $dry_run; then
		(cd "$src" && GOWORK=off GOFLAGS=-mod=mod go mod vendor)
		# Without this file gcloud derives one from a .gitignore, which
		# would drop vendor/ from the upload.
		printf '%s\n' .gcloudignore .git .gitignore '*_test.go' testdata/ >"$src/.gcloudignore"
	fi
	if $dry_run; then
		sed 's/^/#   env: /' "${plan_envs[$i]}"
		printf '%s\n' "${plan_cmds[$i]% }"
	else
		printf '+ %s\n' "${plan_cmds[$i]% }" >&2
		eval "${plan_cmds[$i]}"
	fi
	if [[ -n ${plan_bind[$i]} ]]; then
		run gcloud functions add-invoker-policy-binding "$FUNCTION_PREFIX$name" \
			--project="$project" --region="$region" \
			--member="serviceAccount:${plan_bind[$i]}@$project.iam.gserviceaccount.com"
	fi
done
echo "# done: ${plan_names[*]}"
