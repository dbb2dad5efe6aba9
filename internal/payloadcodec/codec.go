// Package payloadcodec encrypts the payloads the API and the worker hand to
// Temporal (workflow and activity inputs and results, signals, updates,
// queries, memos) with AES-256-GCM, so that the history the Temporal
// server stores and its Web UI shows holds no buyer's openid, phone,
// address or IP in clear.
//
// The keys come from the configuration (TEMPORAL_PAYLOAD_KEYS, see
// ParseKeys): the first one encrypts, every one decrypts, so a key is
// rotated by putting a new one first and dropping the old one once no
// history that needs it is kept. A payload without this codec's encoding
// (one written before encryption was turned on) passes through Decode
// unchanged, so running workflows and recorded histories keep working.
package payloadcodec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// The metadata of an encrypted payload. The encoding follows the Temporal
// samples' convention, so tools that know it recognise the payload.
const (
	// Encoding is the "encoding" metadata of an encrypted payload.
	Encoding = "binary/encrypted"
	// MetadataKeyID names the key that encrypted the payload.
	MetadataKeyID = "encryption-key-id"
	// MetadataCipher names the cipher ("AES-256-GCM").
	MetadataCipher = "encryption-cipher"
	// Cipher is the value of MetadataCipher.
	Cipher = "AES-256-GCM"
	// KeySize is the length of a key in bytes.
	KeySize = 32
)

// Key is one named AES-256 key.
type Key struct {
	ID     string
	Secret []byte // KeySize bytes
}

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ParseKeys reads a key list of the form "k2:<base64 of 32 bytes>,k1:<…>"
// (TEMPORAL_PAYLOAD_KEYS): the first key encrypts, all of them decrypt.
// Key ids are 1–64 characters of letters, digits, '.', '_' and '-', and
// unique. An empty list is no keys (payloads stay in clear).
func ParseKeys(s string) ([]Key, error) {
	var keys []Key
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, b64, ok := strings.Cut(item, ":")
		if !ok {
			return nil, fmt.Errorf("payload key %q: want <id>:<base64 of %d bytes>", redact(item), KeySize)
		}
		if !keyIDPattern.MatchString(id) {
			return nil, fmt.Errorf("payload key id %q: want 1-64 letters, digits, '.', '_' or '-'", id)
		}
		if seen[id] {
			return nil, fmt.Errorf("payload key id %q appears twice", id)
		}
		seen[id] = true
		secret, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if err != nil {
			if secret, err = base64.RawStdEncoding.DecodeString(strings.TrimSpace(b64)); err != nil {
				return nil, fmt.Errorf("payload key %q: the secret is not base64", id)
			}
		}
		if len(secret) != KeySize {
			return nil, fmt.Errorf("payload key %q: the secret is %d bytes, want %d (openssl rand -base64 32)", id, len(secret), KeySize)
		}
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	return keys, nil
}

// redact keeps the key id of a malformed key entry and hides the rest.
func redact(item string) string {
	if len(item) > 8 {
		return item[:4] + "…"
	}
	return "…"
}

// Codec is a converter.PayloadCodec that encrypts with the first of its
// keys and decrypts with whichever key a payload names. A Codec without
// keys passes every payload through Encode unchanged and refuses to
// decode an encrypted one.
type Codec struct {
	current string
	ids     []string
	aeads   map[string]cipher.AEAD
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New builds a codec over keys (the first encrypts).
func New(keys []Key) (*Codec, error) {
	c := &Codec{aeads: make(map[string]cipher.AEAD, len(keys))}
	for i, k := range keys {
		if len(k.Secret) != KeySize {
			return nil, fmt.Errorf("payload key %q: %d bytes, want %d", k.ID, len(k.Secret), KeySize)
		}
		if _, dup := c.aeads[k.ID]; dup {
			return nil, fmt.Errorf("payload key id %q appears twice", k.ID)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("payload key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("payload key %q: %w", k.ID, err)
		}
		if i == 0 {
			c.current = k.ID
		}
		c.aeads[k.ID] = aead
		c.ids = append(c.ids, k.ID)
	}
	return c, nil
}

// Encrypts reports whether the codec has a key, that is whether Encode
// encrypts.
func (c *Codec) Encrypts() bool { return c.current != "" }

// KeyIDs lists the codec's key ids, the encrypting one first.
func (c *Codec) KeyIDs() []string { return append([]string(nil), c.ids...) }

// Encode encrypts each payload (its data and metadata, serialised) with
// the current key; the key id is bound to the ciphertext as associated
// data. Without keys it returns the payloads unchanged.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	if !c.Encrypts() {
		return payloads, nil
	}
	aead := c.aeads[c.current]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("serialise payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("payload nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(Encoding),
				MetadataKeyID:              []byte(c.current),
				MetadataCipher:             []byte(Cipher),
			},
			Data: aead.Seal(nonce, nonce, plain, []byte(c.current)),
		}
	}
	return out, nil
}

// Decode decrypts each payload this codec (or one with the same key ids)
// encrypted. A payload with another encoding passes through unchanged: it
// was written in clear, before encryption was turned on. A payload
// encrypted under a key id the codec does not hold, or whose ciphertext,
// nonce or key id was altered, is an error.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.aeads[id]
		if !ok {
			return nil, fmt.Errorf("payload encrypted with key %q, which is not among the configured payload keys %v (TEMPORAL_PAYLOAD_KEYS): keep an old key until no history needs it", id, c.ids)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize()+aead.Overhead() {
			return nil, fmt.Errorf("encrypted payload (key %q) is %d bytes, too short to hold a nonce and a tag", id, len(data))
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("decrypt payload with key %q: %w (altered, or encrypted under another key of that id)", id, err)
		}
		var dec commonpb.Payload
		if err := proto.Unmarshal(plain, &dec); err != nil {
			return nil, fmt.Errorf("decrypted payload (key %q): %w", id, err)
		}
		out[i] = &dec
	}
	return out, nil
}

// DataConverter is the SDK's default data converter with c applied to
// every payload (converter.NewCodecDataConverter); with a nil codec it is
// the default converter itself. A codec without keys writes payloads in
// clear and names the missing key when it meets an encrypted one.
func DataConverter(c *Codec) converter.DataConverter {
	if c == nil {
		return converter.GetDefaultDataConverter()
	}
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}
