package stream

import (
	"encoding/base64"
	"encoding/json"
	"encoding/json/jsontext"
	"fmt"
	"math/big"
	"sort"
)

// ToJSON converts one DynamoDB attribute value in its JSON wire form
// ({"S": "x"}, {"N": "12"}, {"M": {...}}, ...) to a plain JSON value:
// strings and booleans as they are, numbers as json.Number holding
// DynamoDB's exact decimal text (no float rounding: 38-digit integers stay
// exact), NULL as nil, sets as arrays (string and number sets sorted, as
// sets have no order), binary as its base64 text, maps and lists
// recursively.
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
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, fmt.Errorf("S: must be a string")
		}
		return s, nil
	case "N":
		return number(v)
	case "B":
		return binary(v)
	case "BOOL":
		var b bool
		if err := json.Unmarshal(v, &b); err != nil {
			return nil, fmt.Errorf("BOOL: must be a boolean")
		}
		return b, nil
	case "NULL":
		return nil, nil
	case "SS", "NS", "BS":
		var items []json.RawMessage
		if err := json.Unmarshal(v, &items); err != nil {
			return nil, fmt.Errorf("%s: must be an array", typ)
		}
		out := make([]any, len(items))
		for i, it := range items {
			var err error
			switch typ {
			case "SS":
				var s string
				if json.Unmarshal(it, &s) != nil {
					return nil, fmt.Errorf("SS[%d]: must be a string", i)
				}
				out[i] = s
			case "NS":
				out[i], err = number(it)
			case "BS":
				out[i], err = binary(it)
			}
			if err != nil {
				return nil, fmt.Errorf("%s[%d]: %w", typ, i, err)
			}
		}
		switch typ {
		case "SS":
			sort.Slice(out, func(i, j int) bool { return out[i].(string) < out[j].(string) })
		case "NS":
			sort.Slice(out, func(i, j int) bool { return numLess(out[i].(json.Number), out[j].(json.Number)) })
		}
		return out, nil
	case "L":
		var items []json.RawMessage
		if err := json.Unmarshal(v, &items); err != nil {
			return nil, fmt.Errorf("L: must be an array")
		}
		out := make([]any, len(items))
		for i, it := range items {
			x, err := ToJSON(it)
			if err != nil {
				return nil, fmt.Errorf("L[%d]: %w", i, err)
			}
			out[i] = x
		}
		return out, nil
	case "M":
		var m map[string]json.RawMessage
		if err := json.Unmarshal(v, &m); err != nil {
			return nil, fmt.Errorf("M: must be an object")
		}
		return Image(m)
	}
	return nil, fmt.Errorf("unknown attribute type %q", typ)
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

func number(v json.RawMessage) (json.Number, error) {
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("N: must be a string holding a number")
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
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("B: must be a base64 string")
	}
	if _, err := base64.StdEncoding.DecodeString(s); err != nil {
		return "", fmt.Errorf("B: is not valid base64")
	}
	return s, nil
}

// numLess orders decimal texts by value, exactly.
func numLess(a, b json.Number) bool {
	x, _, errA := big.ParseFloat(string(a), 10, 256, big.ToNearestEven)
	y, _, errB := big.ParseFloat(string(b), 10, 256, big.ToNearestEven)
	if errA != nil || errB != nil {
		return a < b
	}
	return x.Cmp(y) < 0
}
