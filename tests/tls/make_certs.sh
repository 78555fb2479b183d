#!/bin/sh
# make_certs.sh DIR - a throw-away PKI for the TLS tests, made with the openssl CLI.
#
# Everything is created fresh in DIR (which must exist) and is valid for two days. Files:
#   ca.crt ca.der ca.key          "ws test CA" (RSA 2048): signs every certificate below
#   other_ca.crt                  "ws other CA" (P-256): signs nothing the servers use (wrong-CA tests)
#   server.crt server.key         CN=localhost, SAN DNS:localhost                     (by ca)
#   other.crt other.key           CN=other.test, SAN DNS:other.test                   (by ca)
#   client.crt client.key         CN=ws test client, clientAuth                       (by ca)
#   client.der client.key.der     the same client certificate and key in DER
#   stranger.crt stranger.key     CN=ws stranger, clientAuth, signed by other_ca      (not trusted by servers)
# Leaf keys are P-256 (fast handshakes, also under valgrind).
set -eu
dir=${1:?usage: make_certs.sh DIR}
cd "$dir"

days=2
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256"

# make_ca NAME SUBJECT KEYSPEC
make_ca() {
    # shellcheck disable=SC2086
    openssl req -x509 -nodes $3 -keyout "$1.key" -out "$1.crt" -days "$days" -subj "$2" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# make_leaf NAME SUBJECT CA EXTENSIONS
make_leaf() {
    printf '%s\n' "$4" > "$1.ext"
    # shellcheck disable=SC2086
    openssl req -new -nodes $ec -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
    openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial -out "$1.crt" \
        -days "$days" -extfile "$1.ext" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

make_ca ca "/CN=ws test CA" "-newkey rsa:2048"
make_ca other_ca "/CN=ws other CA" "$ec"
openssl x509 -in ca.crt -outform DER -out ca.der

server_ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth"
client_ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"

make_leaf server "/CN=localhost" ca "$server_ext
subjectAltName=DNS:localhost"
make_leaf other "/CN=other.test" ca "$server_ext
subjectAltName=DNS:other.test"
make_leaf client "/CN=ws test client" ca "$client_ext"
make_leaf stranger "/CN=ws stranger" other_ca "$client_ext"

openssl x509 -in client.crt -outform DER -out client.der
openssl pkey -in client.key -outform DER -out client.key.der
rm -f ./*.ext ./*.srl
