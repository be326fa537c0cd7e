module github.com/melmastoon/bff-backoffice/infra

go 1.26.0

require github.com/melmastoon/bff-backoffice/shared v0.0.0

require (
	github.com/go-openapi/jsonpointer v0.22.5 // indirect
	github.com/go-openapi/swag/jsonname v0.25.5 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/gorilla/mux v1.8.1 // indirect
	github.com/oasdiff/yaml v0.1.1 // indirect
	github.com/oasdiff/yaml3 v0.0.14 // indirect
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3 // indirect
	golang.org/x/text v0.43.0 // indirect
)

require (
	github.com/getkin/kin-openapi v0.152.0 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/melmastoon/bff-backoffice/functions/session v0.0.0
	github.com/melmastoon/bff-backoffice/functions/session-revoked v0.0.0
)

replace github.com/melmastoon/bff-backoffice/shared => ../shared

replace github.com/melmastoon/bff-backoffice/functions/session => ../functions/session

replace github.com/melmastoon/bff-backoffice/functions/session-revoked => ../functions/session-revoked
