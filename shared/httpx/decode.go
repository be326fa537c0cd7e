package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/melmastoon/bff-backoffice/shared/apperr"
)

// MaxBody is the largest request body accepted.
const MaxBody = 1 << 20

// DecodeJSON reads r's body into v: application/json only, at most MaxBody
// bytes, unknown fields rejected, exactly one JSON value.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return apperr.New(apperr.UnsupportedMediaType, "Content-Type must be application/json")
		}
	} else {
		return apperr.New(apperr.UnsupportedMediaType, "Content-Type must be application/json")
	}
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apperr.New(apperr.PayloadTooLarge, "request body exceeds %d bytes", MaxBody)
		}
		return apperr.New(apperr.ValidationFailed, "request body must hold a single JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var (
		mbe *http.MaxBytesError
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return apperr.New(apperr.PayloadTooLarge, "request body exceeds %d bytes", MaxBody)
	case errors.Is(err, io.EOF):
		return apperr.New(apperr.ValidationFailed, "request body is empty")
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.New(apperr.ValidationFailed, "request body is not valid JSON")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		return apperr.Validation(apperr.FieldError{Field: field, Message: fmt.Sprintf("must be %s", jsonKind(typ.Type.Kind().String()))})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.Validation(apperr.FieldError{Field: name, Message: "unknown field"})
	default:
		return apperr.New(apperr.ValidationFailed, "request body is not valid JSON")
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	default:
		return "a number"
	}
}
