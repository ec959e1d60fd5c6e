package deploy

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/heraldrt/herald/infra/testkit"
)

// TestJWTSecretInProviderSecret: the JWT secret is read from Secrets
// Manager at cold start like the provider credentials, never a plain
// environment variable (visible to anyone who may read the function's
// configuration).
func TestJWTSecretInProviderSecret(t *testing.T) {
	root := testkit.Template(t)
	if v := get(root, "Resources", "AuthFunction", "Properties", "Environment", "Variables", "AUTH_JWT_SECRET"); v != nil {
		t.Errorf("AuthFunction sets AUTH_JWT_SECRET in its environment (%s): it belongs in the ProviderSecret", strings.TrimSpace(nodeText(v)))
	}
	var keys map[string]string
	tpl := get(root, "Resources", "ProviderSecret", "Properties", "GenerateSecretString", "SecretStringTemplate")
	if tpl == nil || json.Unmarshal([]byte(tpl.Value), &keys) != nil {
		t.Fatalf("ProviderSecret has no JSON SecretStringTemplate")
	}
	if _, ok := keys["AUTH_JWT_SECRET"]; !ok {
		t.Errorf("the ProviderSecret's template has no AUTH_JWT_SECRET: %s", tpl.Value)
	}
}

// TestRulesRefuseUnverifiedAuth evaluates the template's Rules for every
// combination of the auth parameters: a deploy goes through only with a
// way to verify callers (the JWT secret, a JWKS URL or an authorizer).
func TestRulesRefuseUnverifiedAuth(t *testing.T) {
	root := testkit.Template(t)
	rules := get(root, "Rules")
	if rules == nil {
		t.Fatal("template.yaml has no Rules")
	}
	for _, secret := range []string{"false", "true"} {
		for _, jwks := range []string{"", "https://example.com/.well-known/jwks.json"} {
			for _, authorizer := range []string{"false", "true"} {
				params := map[string]string{"AuthJwtSecretInProviderSecret": secret, "AuthJwksUrl": jwks, "AuthTrustAuthorizer": authorizer}
				for k := range params {
					if get(root, "Parameters", k) == nil {
						t.Fatalf("no parameter %s", k)
					}
				}
				want := secret == "true" || jwks != "" || authorizer == "true"
				ok, err := rulesPass(rules, params)
				if err != nil {
					t.Fatal(err)
				}
				if ok != want {
					t.Errorf("%v: deploy allowed %t, want %t", params, ok, want)
				}
			}
		}
	}
}

// rulesPass reports whether every assertion of every applicable rule holds
// with params.
func rulesPass(rules *yaml.Node, params map[string]string) (bool, error) {
	for i := 0; i+1 < len(rules.Content); i += 2 {
		r := rules.Content[i+1]
		if c := get(r, "RuleCondition"); c != nil {
			applies, err := evalRule(c, params)
			if err != nil || !applies {
				return err == nil, err
			}
		}
		for _, a := range get(r, "Assertions").Content {
			ok, err := evalRule(get(a, "Assert"), params)
			if err != nil || !ok {
				return false, err
			}
		}
	}
	return true, nil
}

// evalRule evaluates the rule functions the template uses.
func evalRule(n *yaml.Node, params map[string]string) (bool, error) {
	value := func(n *yaml.Node) (string, error) {
		switch {
		case n.Tag == "!Ref":
			v, ok := params[n.Value]
			if !ok {
				return "", fmt.Errorf("rule refers to %s, which the test does not set", n.Value)
			}
			return v, nil
		case n.Kind == yaml.ScalarNode:
			return n.Value, nil
		}
		return "", fmt.Errorf("unsupported rule value %s", nodeText(n))
	}
	switch n.Tag {
	case "!Equals":
		a, err := value(n.Content[0])
		if err != nil {
			return false, err
		}
		b, err := value(n.Content[1])
		return a == b, err
	case "!Not":
		v, err := evalRule(n.Content[0], params)
		return !v, err
	case "!Or", "!And":
		and := n.Tag == "!And"
		for _, c := range n.Content {
			v, err := evalRule(c, params)
			if err != nil {
				return false, err
			}
			if v != and {
				return v, nil
			}
		}
		return and, nil
	}
	return false, fmt.Errorf("unsupported rule function %s", nodeText(n))
}

// TestCORSNoCredentials: callers authenticate with a bearer token, so the
// HTTP API's CORS allows no credentials, which a wildcard origin (a
// CorsOrigins value of *) could not be combined with.
func TestCORSNoCredentials(t *testing.T) {
	cors := get(testkit.Template(t), "Resources", "HttpApi", "Properties", "CorsConfiguration")
	if c := get(cors, "AllowCredentials"); c == nil || c.Value != "false" {
		t.Errorf("HttpApi CorsConfiguration.AllowCredentials = %v, want false", c)
	}
}

// TestJWKSParameterHTTPS: the template refuses a plain-http JWKS URL as
// the function does.
func TestJWKSParameterHTTPS(t *testing.T) {
	p := get(testkit.Template(t), "Parameters", "AuthJwksUrl", "AllowedPattern")
	if p == nil || !strings.Contains(p.Value, "https://") {
		t.Errorf("AuthJwksUrl has no AllowedPattern requiring https")
	}
}

// TestPublishReplayWindow: replay protection is a parameter, off unless
// set, and kept in the table the function may already write.
func TestPublishReplayWindow(t *testing.T) {
	root := testkit.Template(t)
	v := get(root, "Resources", "PublishFunction", "Properties", "Environment", "Variables", "PUBLISH_REPLAY_WINDOW")
	if v == nil || v.Tag != "!Ref" || get(root, "Parameters", v.Value) == nil {
		t.Fatalf("PublishFunction's PUBLISH_REPLAY_WINDOW does not come from a parameter")
	}
	if d := get(root, "Parameters", v.Value, "Default"); d == nil || d.Value != "" {
		t.Errorf("%s defaults to %v, want empty (off)", v.Value, d)
	}
	if get(root, "Resources", "PublishFunction", "Properties", "Environment", "Variables", "IDEMPOTENCY_TABLE") == nil {
		t.Error("PublishFunction has no IDEMPOTENCY_TABLE to keep signatures in")
	}
}
