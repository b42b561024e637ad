"""A whole flow through the Python client that openapi-python-client generated from the served
OpenAPI document, and through nothing else: if the document lies, a step here fails.

Run by .ci/contract.sh with the generated package `requestdesk_client` on PYTHONPATH. openssl
makes the CSRs and checks what the service hands back, as a user would.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from http import HTTPStatus
from pathlib import Path

from requestdesk_client import AuthenticatedClient, Client
from requestdesk_client.api.ca import get_ca_certificate, get_ca_crl
from requestdesk_client.api.certificates import download_certificate
from requestdesk_client.api.incoming_requests import confirm_request
from requestdesk_client.api.my_requests import (
    cancel_request,
    get_dashboard,
    get_my_request,
    get_request_stats,
    submit_request,
    use_request,
)
from requestdesk_client.api.pvwa_compatibility import (
    create_pvwa_session,
    list_pvwa_my_requests,
    retrieve_pvwa_account_password,
)
from requestdesk_client.api.safes import create_account, create_safe, put_safe_member
from requestdesk_client.api.sessions import create_session
from requestdesk_client.api.users import create_user
from requestdesk_client.models import (
    AccessGrant,
    AccessKind,
    AccessRequest,
    AccessType,
    Account,
    CertificateKind,
    CertificateRequest,
    CreateAccount,
    CreateSafe,
    CreateUserRequest,
    Dashboard,
    DownloadCertificateFormat,
    LoginRequest,
    LoginResponse,
    LogonBody,
    Membership,
    MyRequestsList,
    OperationType,
    Problem,
    PvwaErrorBody,
    RequestDetail,
    RequestStats,
    RequestStatus,
    RetrieveBody,
    Safe,
    SafeMember,
    SecretType,
    User,
)
from requestdesk_client.types import File, Response

PASSWORD = "correct horse battery"


class FlowError(Exception):
    pass


def expect(response: Response, status: HTTPStatus, parsed_type: type, step: str):
    """The parsed body of `response`, which must have `status` and parse as `parsed_type`."""
    if response.status_code != status or not isinstance(response.parsed, parsed_type):
        raise FlowError(
            f"{step}: expected {status.value} {parsed_type.__name__}, got "
            f"{response.status_code.value} {type(response.parsed).__name__}: {response.content[:500]!r}"
        )
    print(f"ok  {step}")
    return response.parsed


def check(condition: bool, step: str, detail: object = "") -> None:
    if not condition:
        raise FlowError(f"{step}: {detail}")
    print(f"ok  {step}")


def openssl(*args: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(["openssl", *args], input=stdin, capture_output=True, check=False)
    if done.returncode != 0:
        raise FlowError(f"openssl {' '.join(args)}: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode(errors="replace")


def new_csr(workdir: Path, name: str) -> str:
    key = workdir / f"{name}.key"
    return openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", str(key), "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
    )


def log_in(client: Client, base_url: str, username: str, password: str) -> AuthenticatedClient:
    session = expect(
        create_session.sync_detailed(
            client=client, body=LoginRequest(username=username, password=password)
        ),
        HTTPStatus.CREATED,
        LoginResponse,
        f"log-in as {username}",
    )
    return AuthenticatedClient(base_url=base_url, token=session.token)


def submit_certificate(user: AuthenticatedClient, workdir: Path, name: str) -> RequestDetail:
    body = CertificateRequest(
        type_=CertificateKind.CERTIFICATE,
        csr=new_csr(workdir, name),
        reason=f"TLS for {name}",
        validity_days=30,
    )
    detail = expect(
        submit_request.sync_detailed(client=user, body=body),
        HTTPStatus.CREATED,
        RequestDetail,
        f"submit a real CSR for {name}",
    )
    check(detail.status == RequestStatus.PENDING, "the new request is pending", detail.status)
    return detail


def file_bytes(response: Response, step: str) -> bytes:
    body = expect(response, HTTPStatus.OK, File, step)
    return body.payload.read()


def flow(base_url: str, admin_password: str, workdir: Path) -> None:
    anonymous = Client(base_url=base_url)
    user = expect(
        create_user.sync_detailed(
            client=anonymous,
            body=CreateUserRequest(
                username="flow", password=PASSWORD, name="Flow Tester", email="flow@example.com"
            ),
        ),
        HTTPStatus.CREATED,
        User,
        "anonymous sign-up",
    )
    check(user.username == "flow", "the new user is named flow", user.username)
    me = log_in(anonymous, base_url, "flow", PASSWORD)

    kept = submit_certificate(me, workdir, "flow.example.com")
    dropped = submit_certificate(me, workdir, "dropped.example.com")

    dashboard = expect(get_dashboard.sync_detailed(client=me), HTTPStatus.OK, Dashboard, "dashboard")
    ids = [summary.id for summary in dashboard.requests.items]
    check(ids == [dropped.id, kept.id], "the dashboard lists both requests, newest first", ids)
    stats = expect(get_request_stats.sync_detailed(client=me), HTTPStatus.OK, RequestStats, "stats")
    check(stats.pending == 2, "the stats count two pending requests", stats.pending)
    shown = expect(
        get_my_request.sync_detailed(kept.id, client=me), HTTPStatus.OK, RequestDetail, "show"
    )
    check(shown.subject_alt_names == ["flow.example.com"], "show names the CSR's name", shown)
    cancelled = expect(
        cancel_request.sync_detailed(dropped.id, client=me), HTTPStatus.OK, RequestDetail, "cancel"
    )
    check(cancelled.status == RequestStatus.REJECTED, "a cancelled request is rejected", cancelled)

    admin = log_in(anonymous, base_url, "admin", admin_password)
    approved = expect(
        confirm_request.sync_detailed(kept.id, client=admin),
        HTTPStatus.OK,
        RequestDetail,
        "an admin confirms without a body",
    )
    check(approved.status == RequestStatus.APPROVED, "the request is approved", approved.status)
    certificate_id = approved.certificate_id
    check(isinstance(certificate_id, int), "the approval issued a certificate", certificate_id)

    ca = expect(get_ca_certificate.sync_detailed(client=anonymous), HTTPStatus.OK, str, "CA certificate")
    (workdir / "ca.pem").write_text(ca)
    pem = file_bytes(download_certificate.sync_detailed(certificate_id, client=me), "PEM download")
    (workdir / "flow.pem").write_bytes(pem)
    subject = openssl("x509", "-in", str(workdir / "flow.pem"), "-noout", "-subject")
    check("flow.example.com" in subject, "openssl reads the PEM certificate", subject)
    verified = openssl("verify", "-CAfile", str(workdir / "ca.pem"), str(workdir / "flow.pem"))
    check("OK" in verified, "openssl verifies it against the CA", verified)
    der = file_bytes(
        download_certificate.sync_detailed(
            certificate_id, client=me, format_=DownloadCertificateFormat.DER
        ),
        "DER download (?format=der)",
    )
    der_subject = openssl("x509", "-inform", "DER", "-noout", "-subject", stdin=der)
    check(der_subject == subject, "openssl reads the DER certificate, the same one", der_subject)
    negotiated = file_bytes(
        download_certificate.sync_detailed(
            certificate_id, client=me.with_headers({"Accept": "application/pkix-cert"})
        ),
        "DER download (Accept: application/pkix-cert)",
    )
    check(negotiated == der, "Accept chooses DER", negotiated[:16])

    crl = file_bytes(get_ca_crl.sync_detailed(client=anonymous), "CRL download")
    crl_text = openssl("crl", "-inform", "DER", "-noout", "-text", stdin=crl)
    check("Certificate Revocation List" in crl_text, "openssl parses the CRL", crl_text[:200])

    refused = expect(
        create_session.sync_detailed(
            client=anonymous, body=LoginRequest(username="flow", password="not the password")
        ),
        HTTPStatus.UNAUTHORIZED,
        Problem,
        "a wrong password is a typed problem",
    )
    check(refused.code == "invalid_credentials" and refused.status == 401, "its code", refused)

    pvwa_step(anonymous, base_url)
    access_step(anonymous, admin, me, base_url)


def pvwa_step(anonymous: Client, base_url: str) -> None:
    """A PVWA logon whose token works on the next PVWA call, as psPAS uses it (bare token). The
    logon answers application/json holding a JSON string, and is documented so: the generated
    client parses the token without its quotes."""
    token = expect(
        create_pvwa_session.sync_detailed(
            client=anonymous, body=LogonBody(username="flow", password=PASSWORD)
        ),
        HTTPStatus.OK,
        str,
        "PVWA logon",
    )
    check(not token.startswith('"'), "the token comes without JSON quotes", token[:20])
    pvwa = AuthenticatedClient(base_url=base_url, token=token, prefix="")
    expect(
        list_pvwa_my_requests.sync_detailed(client=pvwa),
        HTTPStatus.OK,
        MyRequestsList,
        "the PVWA token works on the next PVWA call",
    )


SECRET = 'flow-s3cr3t "quoted" \\ é'


def approved_access(me: AuthenticatedClient, admin: AuthenticatedClient, account: int, step: str) -> int:
    """A one-time access to `account` that may retrieve its secret, submitted and approved."""
    body = AccessRequest(
        type_=AccessKind.ACCESS,
        account_id=account,
        reason="Rotate the root password of the flow host",
        access_type=AccessType.ONE_TIME,
        operation_type=OperationType.GET_PASSWORD,
    )
    detail = expect(
        submit_request.sync_detailed(client=me, body=body), HTTPStatus.CREATED, RequestDetail, step
    )
    decided = expect(
        confirm_request.sync_detailed(detail.id, client=admin),
        HTTPStatus.OK,
        RequestDetail,
        f"{step}: confirmed",
    )
    check(decided.status == RequestStatus.APPROVED, f"{step}: approved", decided.status)
    return detail.id


def access_step(
    anonymous: Client, admin: AuthenticatedClient, me: AuthenticatedClient, base_url: str
) -> None:
    """Dual control guarding a secret: an admin stores one with an account, the user's approved
    request hands it over once through `use`, and PVWA's Retrieve answers the next one as psPAS
    reads it: a JSON string under text/plain, decoded once more."""
    expect(
        create_safe.sync_detailed(client=admin, body=CreateSafe(name="Flow")),
        HTTPStatus.CREATED,
        Safe,
        "an admin creates a safe",
    )
    account = expect(
        create_account.sync_detailed(
            "Flow",
            client=admin,
            body=CreateAccount(
                name="root-flow", address="flow.example.com", user_name="root", secret=SECRET
            ),
        ),
        HTTPStatus.CREATED,
        Account,
        "an account with its secret",
    )
    for username, membership in [
        ("flow", Membership(can_request=True)),
        ("admin", Membership(can_request=False, confirm_level=1)),
    ]:
        expect(
            put_safe_member.sync_detailed("Flow", username, client=admin, body=membership),
            HTTPStatus.OK,
            SafeMember,
            f"{username} is a member",
        )
    first = approved_access(me, admin, account.id, "an access that may retrieve the secret")
    grant = expect(
        use_request.sync_detailed(first, client=me), HTTPStatus.OK, AccessGrant, "use it"
    )
    check(grant.secret == SECRET, "use hands the secret over", grant.secret == SECRET)
    check(grant.secret_type == SecretType.PASSWORD and grant.spent, "a password, spent", grant)
    again = expect(
        use_request.sync_detailed(first, client=me), HTTPStatus.FORBIDDEN, Problem, "use it again"
    )
    check(again.code == "access_already_used", "a one-time access gives it once", again.code)

    approved_access(me, admin, account.id, "another access, for PVWA")
    token = expect(
        create_pvwa_session.sync_detailed(
            client=anonymous, body=LogonBody(username="flow", password=PASSWORD)
        ),
        HTTPStatus.OK,
        str,
        "PVWA logon",
    )
    pvwa = AuthenticatedClient(base_url=base_url, token=token, prefix="")
    retrieved = retrieve_pvwa_account_password.sync_detailed(
        str(account.id), client=pvwa, body=RetrieveBody(reason="Monthly rotation")
    )
    text = expect(retrieved, HTTPStatus.OK, str, "PVWA Retrieve")
    content_type = retrieved.headers.get("content-type", "")
    check("application/json" not in content_type, "answered as text", content_type)
    check(json.loads(text) == SECRET, "its text, decoded as psPAS decodes it, is the secret", text)
    refused = expect(
        retrieve_pvwa_account_password.sync_detailed(str(account.id), client=pvwa),
        HTTPStatus.FORBIDDEN,
        PvwaErrorBody,
        "PVWA Retrieve again",
    )
    check(refused.error_code == "RQDWS033E", "spent: PVWA's error body", refused.error_code)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--admin-password", required=True)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        workdir = args.workdir or Path(scratch)
        try:
            flow(args.base_url, args.admin_password, workdir)
        except FlowError as error:
            print(f"FAILED {error}", file=sys.stderr)
            return 1
    print("the whole flow passed through the generated client")
    return 0


if __name__ == "__main__":
    sys.exit(main())
