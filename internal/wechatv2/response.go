package wechatv2

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/go-pay/gopay"
	"github.com/go-pay/gopay/wechat"
)

// maxResponse bounds the answer bodies read from WeChat Pay.
const maxResponse = 1 << 20

// captureKey keys the *capture of a request in its context.
type captureKey struct{}

// capture records the last HTTP answer of one API call. gopay v2 decodes
// answers into structs that drop fields it does not know (closeorder's
// result_msg, for one), so signatures are verified on these exact bytes.
type capture struct {
	done   bool
	status int
	body   []byte
}

// withCapture returns a context whose request records its answer.
func withCapture(ctx context.Context) (context.Context, *capture) {
	cp := &capture{}
	return context.WithValue(ctx, captureKey{}, cp), cp
}

// captureTransport buffers every answer whose request context carries a
// *capture and hands gopay an identical copy of the body.
type captureTransport struct {
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	cp, _ := req.Context().Value(captureKey{}).(*capture)
	if cp == nil {
		return resp, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if len(body) > maxResponse {
		return nil, fmt.Errorf("%w: answer larger than %d bytes", ErrMalformedResponse, maxResponse)
	}
	cp.done, cp.status, cp.body = true, resp.StatusCode, body
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// call runs one gopay API call with its answer captured, then checks the
// answer: HTTP status, return_code, signature, merchant identity and
// result_code. It returns every field of a successful answer (sign removed).
func (c *Client) call(ctx context.Context, op string, fn func(ctx context.Context) error) (gopay.BodyMap, error) {
	ctx, cp := withCapture(ctx)
	err := fn(ctx)
	switch {
	case cp.done && cp.status != http.StatusOK:
		return nil, fmt.Errorf("%s: %w", op, &HTTPError{Status: cp.status, Body: truncate(string(cp.body), 256)})
	case err != nil && cp.done:
		// A 200 answer gopay could not use: an HTML error page or broken XML.
		return nil, fmt.Errorf("%s: %w: %w", op, ErrMalformedResponse, err)
	case err != nil:
		return nil, fmt.Errorf("%s: call WeChat Pay: %w", op, err)
	case !cp.done:
		return nil, fmt.Errorf("%s: %w: answer not captured", op, ErrMalformedResponse)
	}
	return c.checkAnswer(op, cp.body)
}

// checkAnswer verifies a v2 answer body and returns its fields.
func (c *Client) checkAnswer(op string, body []byte) (gopay.BodyMap, error) {
	bm := make(gopay.BodyMap)
	if err := xml.Unmarshal(body, &bm); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", op, ErrMalformedResponse, err)
	}
	if rc := bm.GetString("return_code"); rc != gopay.SUCCESS {
		msg := bm.GetString("return_msg")
		if rc == "" && msg == "" {
			return nil, fmt.Errorf("%s: %w: no return_code in %q", op, ErrMalformedResponse, truncate(string(body), 256))
		}
		return nil, fmt.Errorf("%s: %w", op, &CommunicationError{Message: msg})
	}
	if err := c.verify(bm); err != nil {
		return nil, fmt.Errorf("%s: response: %w", op, err)
	}
	if rc := bm.GetString("result_code"); rc != gopay.SUCCESS {
		return nil, businessError(op, bm.GetString("err_code"), bm.GetString("err_code_des"))
	}
	return bm, nil
}

// verify checks the sign of bm with the API key and that bm names our app
// and merchant when it names any. With sign_type present, that algorithm
// is used; without it, the configured one and then the other: WeChat has
// been seen to send MD5-signed notifies without sign_type to HMAC-SHA256
// merchants. Either needs the API key, so accepting both weakens nothing.
// (VerifySign removes "sign" from the map it gets: each try gets a copy.)
func (c *Client) verify(bm gopay.BodyMap) error {
	if bm.GetString("sign") == "" {
		return fmt.Errorf("%w: no sign", ErrInvalidSignature)
	}
	tries := []string{c.cfg.SignType, otherSignType(c.cfg.SignType)}
	if st := bm.GetString("sign_type"); st != "" {
		if st != SignTypeMD5 && st != SignTypeHMACSHA256 {
			return fmt.Errorf("%w: unknown sign_type %q", ErrInvalidSignature, st)
		}
		tries = []string{st}
	}
	matched := false
	for _, signType := range tries {
		ok, err := wechat.VerifySign(c.cfg.APIKey, signType, copyBodyMap(bm))
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidSignature, err)
		}
		if ok {
			matched = true
			break
		}
	}
	if !matched {
		return fmt.Errorf("%w: sign does not match (%s)", ErrInvalidSignature, strings.Join(tries, " or "))
	}
	if a := bm.GetString("appid"); a != "" && a != c.cfg.AppID {
		return fmt.Errorf("%w: appid %q", ErrMerchantMismatch, a)
	}
	if m := bm.GetString("mch_id"); m != "" && m != c.cfg.MchID {
		return fmt.Errorf("%w: mch_id %q", ErrMerchantMismatch, m)
	}
	return nil
}

// otherSignType is the v2 signature type that is not st.
func otherSignType(st string) string {
	if st == SignTypeHMACSHA256 {
		return SignTypeMD5
	}
	return SignTypeHMACSHA256
}

// copyBodyMap is a shallow copy of bm.
func copyBodyMap(bm gopay.BodyMap) gopay.BodyMap {
	out := make(gopay.BodyMap, len(bm))
	for k, v := range bm {
		out[k] = v
	}
	return out
}

// requestBody starts a request BodyMap with a fresh nonce_str and the
// configured sign_type (gopay adds appid, mch_id and sign).
func (c *Client) requestBody() (gopay.BodyMap, error) {
	n, err := nonce()
	if err != nil {
		return nil, err
	}
	bm := make(gopay.BodyMap)
	bm.Set("nonce_str", n).Set("sign_type", c.cfg.SignType)
	return bm, nil
}
