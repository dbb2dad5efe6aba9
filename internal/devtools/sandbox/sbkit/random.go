package sbkit

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
)

// rsaBits is the size of the RSA keys the sandboxes generate.
const rsaBits = 2048

// RandomString returns n characters drawn uniformly from alphabet with
// crypto/rand.
func RandomString(alphabet string, n int) (string, error) {
	out := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range out {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("random: %w", err)
		}
		out[i] = alphabet[v.Int64()]
	}
	return string(out), nil
}

// NewKeyPairDER generates an RSA-2048 key pair and returns the private key
// as PKCS#8 DER and the public key as PKIX DER.
func NewKeyPairDER() (privDER, pubDER []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return nil, nil, fmt.Errorf("generate RSA key: %w", err)
	}
	privDER, err = x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal private key: %w", err)
	}
	pubDER, err = x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal public key: %w", err)
	}
	return privDER, pubDER, nil
}

// NewKeyPairPEM generates an RSA-2048 key pair and returns the private key
// as PKCS#8 PEM ("PRIVATE KEY") and the public key as PKIX PEM ("PUBLIC
// KEY").
func NewKeyPairPEM() (privPEM, pubPEM string, err error) {
	privDER, pubDER, err := NewKeyPairDER()
	if err != nil {
		return "", "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})), nil
}
