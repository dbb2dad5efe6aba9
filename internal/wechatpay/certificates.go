package wechatpay

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	wechat "github.com/go-pay/gopay/wechat/v3"
)

// CertificatesPath is WeChat Pay's platform certificate download API
// (pay.weixin.qq.com/docs/merchant/apis/platform-certificate/api-v3-get-certificates/get.html).
const CertificatesPath = "/v3/certificates"

// authScheme is the Authorization scheme of merchant requests.
const authScheme = "WECHATPAY2-SHA256-RSA2048"

// certificatesResponse is the body of GET /v3/certificates.
type certificatesResponse struct {
	Data []struct {
		SerialNo           string `json:"serial_no"`
		EffectiveTime      string `json:"effective_time"`
		ExpireTime         string `json:"expire_time"`
		EncryptCertificate struct {
			Algorithm      string `json:"algorithm"`
			Nonce          string `json:"nonce"`
			AssociatedData string `json:"associated_data"`
			Ciphertext     string `json:"ciphertext"`
		} `json:"encrypt_certificate"`
	} `json:"data"`
}

// requestMessage is the text a merchant request's signature covers:
// "METHOD\nURL\ntimestamp\nnonce\nbody\n" (WeChat Pay's signature guide;
// URL is the path with its query string).
func requestMessage(method, url, timestamp, nonce, body string) string {
	return method + "\n" + url + "\n" + timestamp + "\n" + nonce + "\n" + body + "\n"
}

// signMessage is SHA256withRSA (PKCS#1 v1.5), base64: how merchants sign
// requests and WeChat signs responses and notifies.
func signMessage(key *rsa.PrivateKey, message string) (string, error) {
	sum := sha256.Sum256([]byte(message))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// downloadCertificates fetches, decrypts and checks the platform
// certificates: GET /v3/certificates signed with the merchant key, the
// answer's signature verified with the certificates it carries or the
// configured public key, each certificate decrypted with the APIv3 key.
func (c *Client) downloadCertificates(ctx context.Context) (map[string]platformCert, error) {
	ts := strconv.FormatInt(c.now().Unix(), 10)
	nonce, err := randomNonce()
	if err != nil {
		return nil, err
	}
	sig, err := signMessage(c.mchKey, requestMessage(http.MethodGet, CertificatesPath, ts, nonce, ""))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.HTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.BaseURL+CertificatesPath, nil)
	if err != nil {
		return nil, fmt.Errorf("download platform certificates: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "orderpay")
	req.Header.Set("Authorization", fmt.Sprintf(`%s mchid="%s",nonce_str="%s",signature="%s",timestamp="%s",serial_no="%s"`,
		authScheme, c.cfg.MchID, nonce, sig, ts, c.cfg.MchSerialNo))
	res, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download platform certificates: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxNotifyBody))
	if err != nil {
		return nil, fmt.Errorf("download platform certificates: read: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		var er errResponse
		_ = json.Unmarshal(body, &er)
		return nil, providerError("download platform certificates", res.StatusCode, er, string(body), ErrInvalidConfig)
	}
	certs, err := decodeCertificates(body, c.cfg.APIv3Key, c.now())
	if err != nil {
		return nil, fmt.Errorf("download platform certificates: %w", err)
	}
	serial := res.Header.Get(wechat.HeaderSerial)
	var key *rsa.PublicKey
	if cert, ok := certs[normalizeSerial(serial)]; ok {
		key = cert.key
	} else if c.keys.pub != nil && serial == c.keys.pubID {
		key = c.keys.pub
	} else {
		return nil, fmt.Errorf("download platform certificates: %w: answer signed by unknown Wechatpay-Serial %q", ErrInvalidSignature, serial)
	}
	if err := wechat.V3VerifySignByPK(res.Header.Get(wechat.HeaderTimestamp), res.Header.Get(wechat.HeaderNonce),
		string(body), res.Header.Get(wechat.HeaderSignature), key); err != nil {
		return nil, fmt.Errorf("download platform certificates: %w: %w", ErrInvalidSignature, err)
	}
	return certs, nil
}

// decodeCertificates decrypts the certificates of a GET /v3/certificates
// body with the APIv3 key (AEAD_AES_256_GCM, gopay's decryption) and keeps
// those valid at now. A certificate whose own serial differs from its
// serial_no, an algorithm other than AEAD_AES_256_GCM or a ciphertext that
// does not decrypt is an error: the answer is not WeChat's.
func decodeCertificates(body []byte, apiV3Key string, now time.Time) (map[string]platformCert, error) {
	var rsp certificatesResponse
	if err := json.Unmarshal(body, &rsp); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	certs := make(map[string]platformCert, len(rsp.Data))
	for _, d := range rsp.Data {
		ec := d.EncryptCertificate
		if ec.Algorithm != NotifyAlgorithm {
			return nil, fmt.Errorf("certificate %s: algorithm %q is not %s", d.SerialNo, ec.Algorithm, NotifyAlgorithm)
		}
		plain, err := wechat.V3DecryptNotifyCipherTextToBytes(ec.Ciphertext, ec.Nonce, ec.AssociatedData, apiV3Key)
		if err != nil {
			return nil, fmt.Errorf("certificate %s: decrypt with the APIv3 key: %w", d.SerialNo, err)
		}
		serial, cert, err := parseCertificatePEM(string(plain))
		if err != nil {
			return nil, fmt.Errorf("certificate %s: %w", d.SerialNo, err)
		}
		if serial != normalizeSerial(d.SerialNo) {
			return nil, fmt.Errorf("certificate serial_no %q holds a certificate with serial %s", d.SerialNo, serial)
		}
		if t, err := time.Parse(time.RFC3339, d.ExpireTime); err == nil && t.Before(cert.notAfter) {
			cert.notAfter = t
		}
		if !now.Before(cert.notAfter) {
			continue // expired: WeChat still lists it for a while
		}
		certs[serial] = cert
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("no valid certificate among %d listed", len(rsp.Data))
	}
	return certs, nil
}

// randomNonce returns 32 random alphanumeric characters.
func randomNonce() (string, error) {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("nonce: %w", err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}
