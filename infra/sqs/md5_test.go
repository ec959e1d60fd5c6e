package sqs

import "testing"

func TestAttributesMD5(t *testing.T) {
	// Known answers published with SQS client libraries that verify
	// MD5OfMessageAttributes.
	cases := []struct {
		name  string
		attrs map[string]Attribute
		want  string
	}{
		{"none", nil, ""},
		{"one string", map[string]Attribute{"SellerName": {DataType: "String", StringValue: "Example Store"}}, "cd28f3b68aeee4b2eac9c66f2f694b58"},
		{"number and string", map[string]Attribute{
			"ordinal":  {DataType: "Number", StringValue: "1"},
			"category": {DataType: "String", StringValue: "test"},
		}, "d21ae90c49061e927f57df5f5d72be1f"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := attributesMD5(c.attrs); got != c.want {
				t.Fatalf("attributesMD5 = %q, want %q", got, c.want)
			}
		})
	}
	if got, want := bodyMD5("test"), "098f6bcd4621d373cade4e832627b4f6"; got != want {
		t.Fatalf("bodyMD5(test) = %s, want %s", got, want)
	}
}
