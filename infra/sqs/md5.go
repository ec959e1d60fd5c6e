package sqs

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"sort"
)

// Attribute is a message attribute as SQS stores it.
type Attribute struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
	BinaryValue []byte `json:"BinaryValue,omitempty"`
}

// bodyMD5 is the hex MD5 of a message body, as MD5OfMessageBody carries it.
func bodyMD5(body string) string {
	sum := md5.Sum([]byte(body))
	return hex.EncodeToString(sum[:])
}

// attributesMD5 is MD5OfMessageAttributes: attributes sorted by name, each
// encoded as length-prefixed (4-byte big-endian) name and data type, a
// transport byte (1 for String and Number types, 2 for Binary) and the
// length-prefixed value. Empty for no attributes, as SQS leaves it out.
func attributesMD5(attrs map[string]Attribute) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := md5.New()
	var n [4]byte
	put := func(b []byte) {
		binary.BigEndian.PutUint32(n[:], uint32(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	for _, name := range names {
		a := attrs[name]
		put([]byte(name))
		put([]byte(a.DataType))
		if isBinary(a.DataType) {
			h.Write([]byte{2})
			put(a.BinaryValue)
		} else {
			h.Write([]byte{1})
			put([]byte(a.StringValue))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// isBinary reports whether a data type ("Binary", "Binary.custom") carries
// BinaryValue rather than StringValue.
func isBinary(dataType string) bool {
	return len(dataType) >= 6 && dataType[:6] == "Binary"
}
