// A self-signed EC P-256 certificate for 127.0.0.1/localhost, valid 100 years,
// generated once with openssl for the TLS tests of the sender (copy path).
// Test-only: the key protects nothing.
export const TLS_TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgpfLF0M8RSMslOaLH
KfNb/iARKo9IwXYMo2rVVEXZ7AKhRANCAAThkOPBPaerNNTbpaO7nASq6b93vgS+
dPTQh7x2TT+psqajqV3pdE3xeMqvKUNbAMe5OXvIC/bAQRMatqes0l3f
-----END PRIVATE KEY-----
`;

export const TLS_TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBmjCCAUGgAwIBAgIUYQqxpqcFJjUVUBwnjT6F9N2xp0QwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyMjA0NTI1OVoYDzIxMjYxMDI5
MDQ1MjU5WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAThkOPBPaerNNTbpaO7nASq6b93vgS+dPTQh7x2TT+psqajqV3pdE3x
eMqvKUNbAMe5OXvIC/bAQRMatqes0l3fo28wbTAdBgNVHQ4EFgQUP7x+r6UMyKCt
WdQG+dsbL9eGtxwwHwYDVR0jBBgwFoAUP7x+r6UMyKCtWdQG+dsbL9eGtxwwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwCgYIKoZI
zj0EAwIDRwAwRAIgNte/whIUk332Dd4IJFFL+QzD57LzuBO4bnyvDjRX2NwCICFT
72uesqXwvNC5SrwvdgT5lgdmg2Yj32rBttnDhp9W
-----END CERTIFICATE-----
`;
