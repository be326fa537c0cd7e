module github.com/melmastoon/bff-backoffice/infra

go 1.26.0

require github.com/melmastoon/bff-backoffice/shared v0.0.0

require (
	github.com/getkin/kin-openapi v0.152.0 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
)

replace github.com/melmastoon/bff-backoffice/shared => ../shared
