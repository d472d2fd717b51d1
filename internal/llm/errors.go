package llm

import "net/http"

// openAIError is OpenAI's error body.
type openAIError struct {
	Error openAIErrorDetail `json:"error"`
}

type openAIErrorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    string  `json:"code"`
}

// anthropicError is Anthropic's error body.
type anthropicError struct {
	Type  string               `json:"type"`
	Error anthropicErrorDetail `json:"error"`
}

type anthropicErrorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// ErrorBody is the JSON of an error answer of status in format f, so the
// caller's SDK parses it as its provider's own: OpenAI's
// {"error":{"message","type","param","code"}} with code the gateway's
// reason (e.g. model_not_allowed), or Anthropic's
// {"type":"error","error":{"type","message"}} with the type Anthropic uses
// for the status.
func ErrorBody(f Format, status int, code, message string) any {
	if f == Anthropic {
		return anthropicError{Type: "error", Error: anthropicErrorDetail{Type: anthropicType(status), Message: message}}
	}
	return openAIError{Error: openAIErrorDetail{Message: message, Type: openAIType(status), Code: code}}
}

func anthropicType(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusServiceUnavailable:
		return "overloaded_error"
	}
	return "api_error"
}

func openAIType(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	}
	return "server_error"
}
