package tenant

import (
	"errors"
	"net/http"
)

// Errors of Resolve. Each maps to one HTTP status (see HTTPStatus); the
// caller decides by errors.Is, never by the message.
var (
	// ErrUnknownKey: a key was presented that no config or run-time key
	// has (401).
	ErrUnknownKey = errors.New("unknown API key")
	// ErrKeyDisabled: the key exists but is disabled, or its plan is no
	// longer configured (401).
	ErrKeyDisabled = errors.New("API key is disabled")
	// ErrKeyRequired: the chain has keys: required and no key was given
	// (401).
	ErrKeyRequired = errors.New("an API key is required for this chain")
	// ErrChainNotAllowed: the key's plan lists chains and this is not one
	// of them (403).
	ErrChainNotAllowed = errors.New("the API key's plan does not include this chain")
)

// Errors of key administration (see Admin), mapped to statuses by the
// admin API.
var (
	ErrKeyExists   = errors.New("a key with this name already exists")                                   // 409
	ErrSecretInUse = errors.New("this secret is already used by another key")                            // 409
	ErrConfigKey   = errors.New("key is defined in the config file; edit the config and reload instead") // 409
	ErrKeyNotFound = errors.New("no such key")                                                           // 404
)

// InvalidError is a wrong field of a key to add (400).
type InvalidError struct{ Field, Msg string }

func (e *InvalidError) Error() string { return e.Field + " " + e.Msg }

// HTTPStatus is the status for an error of Resolve: 401 for key
// problems, 403 for a chain outside the plan, 500 for anything else.
func HTTPStatus(err error) int {
	switch {
	case errors.Is(err, ErrChainNotAllowed):
		return http.StatusForbidden
	case errors.Is(err, ErrUnknownKey), errors.Is(err, ErrKeyDisabled), errors.Is(err, ErrKeyRequired):
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}
