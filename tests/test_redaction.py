"""Secret redaction: every form the guard refuses is what redaction hides, and nothing else."""

from __future__ import annotations

import pytest

from switchboard.redaction import find_secret, redact

FORMS = [  # text, what it is stored as
    ("DB_PASSWORD=hunter2hunter2", "DB_PASSWORD=[redacted:password]"),
    ("OPENCODE_SERVER_PASSWORD=Zk3_x-9qLm", "OPENCODE_SERVER_PASSWORD=[redacted:password]"),
    ("export GITHUB_TOKEN=abc123def", "export GITHUB_TOKEN=[redacted:token]"),
    ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS_SECRET_ACCESS_KEY=[redacted:key]"),
    ("STRIPE_API_KEY: abc123", "STRIPE_API_KEY: [redacted:key]"),
    ("client_secret = 'zzzz'", "client_secret = '[redacted:secret]'"),
    ("WEBHOOK_SECRET=s3cr3t", "WEBHOOK_SECRET=[redacted:secret]"),
    ("DB_PASSWD=x1", "DB_PASSWD=[redacted:password]"),
    ("password=hunter22xyz", "password=[redacted:password]"),
    ("passphrase: correct-horse", "passphrase: [redacted:password]"),
    ("apikey=abc", "apikey=[redacted:key]"),
    ('{"db_password": "hunter2", "user": "bob"}', '{"db_password": "[redacted:password]", "user": "bob"}'),
    (
        "clone https://deploy:s3cr3tpass@git.example.com/r.git",
        "clone https://deploy:[redacted:url-password]@git.example.com/r.git",
    ),
    ("postgresql://sb:pw@127.0.0.1:5432/db", "postgresql://sb:[redacted:url-password]@127.0.0.1:5432/db"),
    (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----\nnext",
        "[redacted:private-key]\nnext",
    ),
    ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg (cut off)", "[redacted:private-key]"),
    ("key sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345", "key [redacted:api-key]"),
    ("key sk-proj-abcdefghijklmnopqrstuvwxyz123456", "key [redacted:api-key]"),
    ("id AKIAIOSFODNN7EXAMPLE ok", "id [redacted:aws-key] ok"),
    ("ghp_abcdefghijklmnopqrstuvwxyz0123456789AB", "[redacted:github-token]"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv", "[redacted:github-token]"),
    ("glpat-abcdefghij0123456789", "[redacted:gitlab-token]"),
    ("npm_abcdefghijklmnopqrstuvwxyz0123456789", "[redacted:npm-token]"),
    ("hf_abcdefghijklmnopqrstuvwxyz0123456", "[redacted:huggingface-token]"),
    ("slack xoxb-123456789012-abcdefghijkl", "slack [redacted:slack-token]"),
    ("https://hooks.slack.com/services/T000/B000/XXXX", "https://[redacted:slack-webhook]"),
    ("AIzaSyA-abcdefghijklmnopqrstuvwxyz01234", "[redacted:google-api-key]"),
    ("sk_live_abcdefghijklmnop1234", "[redacted:stripe-key]"),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "[redacted:jwt]"),
    ("Authorization: Bearer abcdefghijklmnop", "Authorization: Bearer [redacted:bearer]"),
    # any case where the pattern ignores case: each pattern runs only on text holding one of
    # its needles, so these check the needles are compared alike
    ("Db_PassWord=hunter2hunter2", "Db_PassWord=[redacted:password]"),
    ("AUTHORIZATION: basic dXNlcjpwYXNzd29yZA==", "AUTHORIZATION: basic [redacted:bearer]"),
    ("POSTGRESQL://sb:pw@db.example/x", "POSTGRESQL://sb:[redacted:url-password]@db.example/x"),
    ("id ASIAIOSFODNN7EXAMPLE", "id [redacted:aws-key]"),
]

NOT_SECRETS = [
    "set password=$DB_PASSWORD in the env",
    "api_key=<your key>",
    "password: ****",
    "token=settings.API_TOKEN",
    "password = os.environ['DB_PASSWORD']",
    'secret=getenv("SECRET")',
    "auth_token: str",
    "max_tokens=100",
    "primary_key=True",
    "PWD=/home/me",
    "the password is rotated weekly",
    "DB_PASSWORD=[redacted:password]",
    "https://example.com/a:b@c",
]


@pytest.mark.parametrize(("text", "stored"), FORMS)
def test_each_secret_form_is_redacted_and_refused_by_the_guard(text: str, stored: str) -> None:
    assert redact(text) == stored
    assert find_secret(text) is not None  # the memory guard refuses the raw text
    assert find_secret(stored) is None  # and takes the redacted one
    assert redact(stored) == stored


@pytest.mark.parametrize("text", NOT_SECRETS)
def test_text_that_only_names_a_secret_is_kept(text: str) -> None:
    assert redact(text) == text and find_secret(text) is None
