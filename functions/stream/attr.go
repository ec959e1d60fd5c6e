package stream

import (
	"encoding/base64"
	"encoding/json"
	"encoding/json/jsontext"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// ToJSON converts one DynamoDB attribute value in its JSON wire form
// ({"S": "x"}, {"N": "12"}, {"M": {...}}, ...) to a plain JSON value:
// strings and booleans as they are, numbers as json.Number holding
// DynamoDB's exact decimal text (no float rounding: 38-digit integers stay
// exact), NULL as nil, sets as arrays (string and number sets sorted, as
// sets have no order), binary as its base64 text, maps and lists
// recursively.
//
// aws-lambda-go's events.DynamoDBAttributeValue reads the same wire form,
// but it panics on a binary set holding a non-string (v1.55.1) and its
// errors do not say where in the item the fault is; a stream record is
// untrusted input whose faults are reported in dead letters.
func ToJSON(raw json.RawMessage) (any, error) {
	var av map[string]json.RawMessage
	if err := json.Unmarshal(raw, &av); err != nil {
		return nil, fmt.Errorf("attribute value is not a JSON object: %w", err)
	}
	if len(av) != 1 {
		return nil, fmt.Errorf("attribute value must have exactly one type key, has %d", len(av))
	}
	for typ, v := range av {
		return convert(typ, v)
	}
	panic("unreachable")
}

func convert(typ string, v json.RawMessage) (any, error) {
	switch typ {
	case "S":
		return decode[string](v, "S: must be a string")
	case "N":
		return number(v)
	case "B":
		return binary(v)
	case "BOOL":
		return decode[bool](v, "BOOL: must be a boolean")
	case "NULL":
		return nil, nil
	case "SS", "NS", "BS", "L":
		return list(typ, v)
	case "M":
		m, err := decode[map[string]json.RawMessage](v, "M: must be an object")
		if err != nil {
			return nil, err
		}
		return Image(m)
	}
	return nil, fmt.Errorf("unknown attribute type %q", typ)
}

// list converts a set or a list, sorting string and number sets.
func list(typ string, v json.RawMessage) ([]any, error) {
	items, err := decode[[]json.RawMessage](v, typ+": must be an array")
	if err != nil {
		return nil, err
	}
	out := make([]any, len(items))
	for i, it := range items {
		switch typ {
		case "SS":
			out[i], err = decode[string](it, "S: must be a string")
		case "NS":
			out[i], err = number(it)
		case "BS":
			out[i], err = binary(it)
		default:
			out[i], err = ToJSON(it)
		}
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", typ, i, err)
		}
	}
	switch typ {
	case "SS":
		slices.SortFunc(out, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
	case "NS":
		slices.SortFunc(out, func(a, b any) int { return numCmp(a.(json.Number), b.(json.Number)) })
	}
	return out, nil
}

// Image converts an item (NewImage, OldImage, Keys) to a JSON object.
func Image(item map[string]json.RawMessage) (map[string]any, error) {
	out := make(map[string]any, len(item))
	for k, v := range item {
		x, err := ToJSON(v)
		if err != nil {
			return nil, fmt.Errorf("%s.%w", k, err)
		}
		out[k] = x
	}
	return out, nil
}

// decode reads v as a T; msg is the error when it is not one.
func decode[T any](v json.RawMessage, msg string) (T, error) {
	var x T
	if json.Unmarshal(v, &x) != nil {
		return x, errors.New(msg)
	}
	return x, nil
}

func number(v json.RawMessage) (json.Number, error) {
	s, err := decode[string](v, "N: must be a string holding a number")
	if err != nil {
		return "", err
	}
	// DynamoDB numbers are decimal text; JSON accepts nearly the same text.
	// Anything else (" 1", "0 ", "0x10", "NaN") is refused rather than
	// guessed.
	if !isNumber(s) {
		return "", fmt.Errorf("N: %q is not a number", s)
	}
	return json.Number(s), nil
}

// isNumber reports whether s is exactly one JSON number: only a number
// starts with '-' or a digit, and one ends with a digit, so nothing can
// stand around it.
func isNumber(s string) bool {
	digit := func(c byte) bool { return c >= '0' && c <= '9' }
	if s == "" || !(s[0] == '-' || digit(s[0])) || !digit(s[len(s)-1]) {
		return false
	}
	return jsontext.Value(s).IsValid()
}

func binary(v json.RawMessage) (string, error) {
	s, err := decode[string](v, "B: must be a base64 string")
	if err != nil {
		return "", err
	}
	if _, err := base64.StdEncoding.DecodeString(s); err != nil {
		return "", errors.New("B: is not valid base64")
	}
	return s, nil
}

// numCmp orders decimal texts by value, exactly.
func numCmp(a, b json.Number) int {
	x, _, errA := big.ParseFloat(string(a), 10, 256, big.ToNearestEven)
	y, _, errB := big.ParseFloat(string(b), 10, 256, big.ToNearestEven)
	if errA != nil || errB != nil {
		return strings.Compare(string(a), string(b))
	}
	return x.Cmp(y)
}
