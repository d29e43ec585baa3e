-- One row: a known text sealed under the secret key that encrypts webhook Secrets
-- (docs/DELIVERY.md, "Secrets at rest"), so a start with another key is refused at once, even
-- with no webhook in the database.
CREATE TABLE secret_key_check (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    sealed TEXT NOT NULL                               -- enc:v1:base64(nonce || ciphertext || tag)
);
