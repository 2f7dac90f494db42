-- SFTP logins with a private key file, and implicit FTPS. Still no secret here: a key's
-- passphrase lives in the OS keychain; the catalog keeps only whether the key has one.
-- Existing destinations keep logging in as before (password, explicit FTPS).

-- SFTP: the private key file on this computer; NULL logs in with the password.
ALTER TABLE destination ADD COLUMN identity_file TEXT;
-- SFTP: the key file is encrypted and its passphrase is in the keychain.
ALTER TABLE destination ADD COLUMN identity_encrypted INTEGER NOT NULL DEFAULT 0
    CHECK (identity_encrypted IN (0, 1));
-- FTPS: TLS from the first byte (usually port 990) instead of AUTH TLS on the FTP port.
ALTER TABLE destination ADD COLUMN implicit_tls INTEGER NOT NULL DEFAULT 0
    CHECK (implicit_tls IN (0, 1));
