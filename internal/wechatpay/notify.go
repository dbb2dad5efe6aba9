package wechatpay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	wechat "github.com/go-pay/gopay/wechat/v3"
)

// Notify constants of WeChat Pay's payment notification.
const (
	// EventTransactionSuccess is the event_type of a payment notify.
	EventTransactionSuccess = "TRANSACTION.SUCCESS"
	// NotifyAlgorithm is the only resource algorithm WeChat Pay uses.
	NotifyAlgorithm = "AEAD_AES_256_GCM"
	// maxNotifyBody bounds the notify body we accept (gopay reads at most 5 MiB).
	maxNotifyBody = 1 << 20
)

// ParseNotify authenticates and decrypts a payment notify. header and body
// are the raw HTTP request header and body as received. It checks, in order:
// Wechatpay-Serial names a key the client holds (the configured public key
// or a platform certificate, downloaded if unknown) and the
// Wechatpay-Signature over the raw body verifies with it
// (ErrInvalidSignature otherwise); the body parses; Wechatpay-Timestamp lies within
// Config.NotifyMaxAge of now (ErrStaleNotify otherwise — gopay does not
// check it); the resource decrypts with the APIv3 key and describes a
// transaction of this merchant and app (ErrMalformedNotify otherwise).
//
// Answer WeChat with 200/204 only after the transaction is durably
// recorded; any other answer makes WeChat re-send the notify later.
func (c *Client) ParseNotify(header http.Header, body []byte) (*Transaction, error) {
	n, err := c.authenticateNotify(header, body)
	if err != nil {
		return nil, err
	}
	if n.EventType != EventTransactionSuccess {
		return nil, fmt.Errorf("%w: notify %s: event_type %q is not %s", ErrMalformedNotify, n.Id, n.EventType, EventTransactionSuccess)
	}
	r, err := n.DecryptPayCipherText(c.cfg.APIv3Key)
	if err != nil {
		return nil, fmt.Errorf("%w: notify %s: decrypt: %w", ErrMalformedNotify, n.Id, err)
	}
	if r.Mchid != c.cfg.MchID || r.Appid != c.cfg.AppID {
		return nil, fmt.Errorf("%w: notify %s is for mchid %q appid %q, not ours", ErrMalformedNotify, n.Id, r.Mchid, r.Appid)
	}
	if r.OutTradeNo == "" || r.TransactionId == "" || r.TradeState == "" {
		return nil, fmt.Errorf("%w: notify %s lacks out_trade_no, transaction_id or trade_state", ErrMalformedNotify, n.Id)
	}
	tx, err := newTransaction(r.Appid, r.Mchid, r.OutTradeNo, r.TransactionId, r.TradeType,
		r.TradeState, r.TradeStateDesc, r.Attach, r.SuccessTime, r.Payer, r.Amount)
	if err != nil {
		return nil, fmt.Errorf("%w: notify %s: %w", ErrMalformedNotify, n.Id, err)
	}
	return tx, nil
}

// authenticateNotify runs the checks every notify gets before its resource
// is decrypted: body size, signature headers, the key Wechatpay-Serial selects, the
// signature over the raw body (ErrInvalidSignature), the envelope parse,
// the timestamp's age (ErrStaleNotify) and the resource algorithm
// (ErrMalformedNotify). It returns the parsed envelope.
func (c *Client) authenticateNotify(header http.Header, body []byte) (*wechat.V3NotifyReq, error) {
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrMalformedNotify)
	}
	if len(body) > maxNotifyBody {
		return nil, fmt.Errorf("%w: body of %d bytes exceeds %d", ErrMalformedNotify, len(body), maxNotifyBody)
	}
	req, err := http.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: build request: %w", ErrMalformedNotify, err)
	}
	req.Header = header.Clone()
	// Parse first (gopay's code reads the signature headers), but report a
	// parse failure only once the raw body is authenticated.
	n, parseErr := wechat.V3ParseNotify(req)
	var (
		sig    = header.Get(wechat.HeaderSignature)
		tsText = header.Get(wechat.HeaderTimestamp)
		nonce  = header.Get(wechat.HeaderNonce)
		serial = header.Get(wechat.HeaderSerial)
	)
	if sig == "" || tsText == "" || nonce == "" {
		return nil, fmt.Errorf("%w: missing Wechatpay-Signature, -Timestamp or -Nonce header", ErrInvalidSignature)
	}
	key, err := c.keys.lookup(context.Background(), serial)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSignature, err)
	}
	if err := wechat.V3VerifySignByPK(tsText, nonce, string(body), sig, key); err != nil {
		return nil, fmt.Errorf("%w: notify: %w", ErrInvalidSignature, err)
	}
	if parseErr != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedNotify, parseErr)
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: Wechatpay-Timestamp %q: %w", ErrMalformedNotify, tsText, err)
	}
	if age := c.now().Sub(time.Unix(ts, 0)); age > c.cfg.NotifyMaxAge || age < -c.cfg.NotifyMaxAge {
		return nil, fmt.Errorf("%w: notify %s signed at %s, %s from now exceeds %s",
			ErrStaleNotify, n.Id, time.Unix(ts, 0).UTC().Format(time.RFC3339), age.Round(time.Second), c.cfg.NotifyMaxAge)
	}
	if n.Resource == nil || n.Resource.Algorithm != NotifyAlgorithm {
		return nil, fmt.Errorf("%w: notify %s: missing resource or algorithm not %s", ErrMalformedNotify, n.Id, NotifyAlgorithm)
	}
	return n, nil
}

// NotifyAck is the JSON body answering a WeChat Pay notify.
type NotifyAck struct {
	Code    string `json:"code"`    // SUCCESS or FAIL
	Message string `json:"message"` // human-readable detail
}

// AckSuccess returns the body acknowledging a notify ({"code":"SUCCESS"}).
// Send it with status 200.
func AckSuccess() []byte {
	b, _ := json.Marshal(NotifyAck{Code: "SUCCESS", Message: "成功"})
	return b
}

// AckFail returns the body refusing a notify ({"code":"FAIL"}) so WeChat
// re-sends it; send it with a 4xx/5xx status.
func AckFail(message string) []byte {
	b, _ := json.Marshal(NotifyAck{Code: "FAIL", Message: message})
	return b
}
