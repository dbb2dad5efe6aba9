package wechatv2sb

import (
	"bytes"
	"crypto/aes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"sort"
	"strings"
)

// Signature types of the v2 API.
const (
	SignTypeMD5        = "MD5"
	SignTypeHMACSHA256 = "HMAC-SHA256"
)

// Sign returns WeChat Pay v2's signature of params: the non-empty
// parameters except "sign", sorted by name and joined as k=v&…, followed by
// "&key=" + apiKey, hashed with MD5 or HMAC-SHA256 (keyed with apiKey) and
// written as upper-case hex. It is written from WeChat's specification,
// independently of gopay, so each checks the other. An unknown signType
// yields "" (which never matches a real signature).
func Sign(apiKey, signType string, params map[string]string) string {
	var h hash.Hash
	switch signType {
	case SignTypeMD5:
		h = md5.New()
	case SignTypeHMACSHA256:
		h = hmac.New(sha256.New, []byte(apiKey))
	default:
		return ""
	}
	keys := make([]string, 0, len(params))
	for k, v := range params {
		if k != "sign" && v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
		b.WriteByte('&')
	}
	b.WriteString("key=")
	b.WriteString(apiKey)
	h.Write([]byte(b.String()))
	return strings.ToUpper(hex.EncodeToString(h.Sum(nil)))
}

// verifySign reports whether params carry a valid sign for signType.
func verifySign(apiKey, signType string, params map[string]string) bool {
	want := Sign(apiKey, signType, params)
	return want != "" && hmac.Equal([]byte(want), []byte(params["sign"]))
}

// ParseXML reads a flat v2 message <xml><k>v</k>…</xml> (text or CDATA
// values) into a map. Nested elements and repeated names are errors.
func ParseXML(b []byte) (map[string]string, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	out := make(map[string]string)
	depth := 0
	var cur string
	var val strings.Builder
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			if depth != 0 {
				return nil, errors.New("unexpected end of XML")
			}
			if len(out) == 0 && cur == "" {
				return nil, errors.New("empty XML message")
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch depth {
			case 1: // root, usually <xml>
			case 2:
				cur = t.Name.Local
				val.Reset()
				if _, dup := out[cur]; dup {
					return nil, fmt.Errorf("repeated element <%s>", cur)
				}
			default:
				return nil, fmt.Errorf("nested element <%s> inside <%s>", t.Name.Local, cur)
			}
		case xml.CharData:
			if depth == 2 {
				val.Write(t)
			}
		case xml.EndElement:
			if depth == 2 {
				out[cur] = val.String()
			}
			depth--
		}
	}
}

// EncodeXML renders params as <xml> with every value in CDATA, keys sorted.
func EncodeXML(params map[string]string) []byte {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString("<xml>")
	for _, k := range keys {
		fmt.Fprintf(&b, "<%s><![CDATA[%s]]></%s>", k, strings.ReplaceAll(params[k], "]]>", "]]]]><![CDATA[>"), k)
	}
	b.WriteString("</xml>")
	return b.Bytes()
}

// EncryptReqInfo encrypts a refund notify's inner XML as WeChat does:
// AES-256-ECB with PKCS#7 padding, keyed by the lower-case hex MD5 of the
// API key (32 ASCII bytes), then standard base64.
func EncryptReqInfo(apiKey string, plain []byte) (string, error) {
	sum := md5.Sum([]byte(apiKey))
	block, err := aes.NewCipher([]byte(hex.EncodeToString(sum[:])))
	if err != nil {
		return "", fmt.Errorf("wechatv2sb: req_info cipher: %w", err)
	}
	bs := block.BlockSize()
	pad := bs - len(plain)%bs
	buf := append(append([]byte{}, plain...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	for i := 0; i < len(buf); i += bs {
		block.Encrypt(buf[i:i+bs], buf[i:i+bs])
	}
	return base64.StdEncoding.EncodeToString(buf), nil
}
