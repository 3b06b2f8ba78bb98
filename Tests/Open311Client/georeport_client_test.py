"""Drives a running `concierge serve` with `georeport`, a real Open311
GeoReport v2 client from PyPI, and checks what it gets back.

    python3 georeport_client_test.py --base=http://127.0.0.1:PORT/open311/v2 \
        --public-key=KEY --full-key=KEY

(Keys are base64url and may begin with "-", so pass them with "=".)

georeport (0.3.1) reads services, service definitions and requests, in JSON
and in XML; it does not file requests, so the POST goes through `requests`
(georeport's own HTTP library) form-encoded as the GeoReport v2 spec says.

Prints one line per failed check and a summary; exits 0 when every check
passed, 1 when one failed, 3 when georeport cannot be imported (2 is
argparse's usage error).
"""

import argparse
import datetime
import sys

try:
    import georeport
    import requests
    from georeport import GeoReport
except ImportError as error:  # the Swift test reports this as a failure
    print(f"georeport is not installed for {sys.executable}: {error}. Install it with: "
          f"{sys.executable} -m pip install georeport==0.3.1 (bash .ci/run does)")
    sys.exit(3)

# The spec's fields (wiki.open311.org/GeoReport_v2), as the Swift tests hold them too.
SERVICE_REQUIRED = ["service_code", "service_name", "metadata", "type"]
REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
                  "address", "address_id", "zipcode", "lat", "long", "media_url"]
REQUEST_REQUIRED = ["service_request_id", "status", "service_code", "requested_datetime"]
PRIVATE_FIELDS = ["priority", "unit", "resident_name", "resident_contact"]


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, condition, what):
        if condition:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAILED: {what}")
        return condition


def as_list(value):
    """xmltodict gives one element as a dict and several as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--public-key", required=True)
    parser.add_argument("--full-key", required=True)
    args = parser.parse_args()
    checks = Checks()
    check = checks.check
    print(f"georeport {georeport.__version__} against {args.base}")

    # Services, in JSON.
    client = GeoReport(args.base, jurisdiction="maplecourt.example")
    services = client.get_service_list()
    check(isinstance(services, list) and len(services) > 0, "services.json is a non-empty list")
    for service in services:
        check(all(service.get(field) not in (None, "") for field in SERVICE_REQUIRED),
              f"service {service.get('service_code')} has {SERVICE_REQUIRED}")
    codes = [service["service_code"] for service in services]
    check("plumbing" in codes and "building_maintenance" in codes, f"the pack's categories are services: {codes}")
    definition = client.get_service_definition("plumbing")
    check(definition.get("service_code") == "plumbing" and definition.get("attributes") == [],
          f"the plumbing definition has no attributes: {definition}")

    # Filing a request (georeport has no POST): form-encoded, with a key.
    form = {"api_key": args.public_key, "jurisdiction_id": "maplecourt.example", "service_code": "building_maintenance",
            "description": "I smell gas in the basement", "address_string": "basement, building 2",
            "email": "sam@example.org", "first_name": "Sam", "last_name": "Oduya"}
    response = requests.post(f"{args.base}/requests.json", data=form, timeout=60)
    check(response.status_code == 200, f"POST requests.json answers 200, got {response.status_code}: {response.text}")
    receipt = response.json()[0]
    request_id = receipt.get("service_request_id")
    check(isinstance(request_id, str) and request_id.isdigit(), f"the receipt has a service_request_id: {receipt}")
    check("Leave the building" in (receipt.get("service_notice") or ""), f"the receipt gives the gas guidance: {receipt}")
    refused = requests.post(f"{args.base}/requests.json", data={k: v for k, v in form.items() if k != "api_key"}, timeout=60)
    check(refused.status_code == 403 and refused.json()[0].get("code") == 403, f"no key, no request: {refused.text}")

    # The request, as everyone sees it.
    request = client.get_service_request(request_id)
    check(all(field in request for field in REQUEST_FIELDS), f"a request has every spec field: {sorted(request)}")
    check(all(request.get(field) not in (None, "") for field in REQUEST_REQUIRED), f"a request has {REQUEST_REQUIRED}")
    check(request.get("status") == "open" and request.get("service_code") == "building_maintenance", f"it is open: {request}")
    check(not any(field in request for field in PRIVATE_FIELDS), f"the public view has none of {PRIVATE_FIELDS}")
    requested = datetime.datetime.fromisoformat(request["requested_datetime"])
    check(requested.tzinfo is not None, f"requested_datetime has an offset: {request['requested_datetime']}")
    check(datetime.datetime.fromisoformat(request["expected_datetime"]) > requested, "expected_datetime is after requested_datetime")

    # Searches.
    found = client.get_service_requests(service_request_id=request_id)
    check([r["service_request_id"] for r in found] == [request_id], f"search by id: {found}")
    now = datetime.datetime.now(datetime.timezone.utc)
    window = client.get_service_requests(service_code="building_maintenance", status="open",
                                         start_date=(now - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                                         end_date=(now + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    check(request_id in [r["service_request_id"] for r in window], "search by code, status and dates finds it")
    closed = client.get_service_requests(status="closed")
    check(request_id not in [r["service_request_id"] for r in closed], "it is not among the closed ones")

    # A full key sees the priority and who asked (georeport sends no key on reads: plain requests does).
    full = requests.get(f"{args.base}/requests/{request_id}.json", params={"api_key": args.full_key}, timeout=60).json()[0]
    check(full.get("priority") == "P1" and full.get("safety_rule") == "gas", f"the full view shows P1 and the gas rule: {full}")
    check(full.get("resident_contact") == "sam@example.org", f"the full view shows the contact: {full}")

    # The same through georeport's XML mode.
    xml_client = GeoReport(args.base, output_format="xml")
    xml_services = as_list(xml_client.get_service_list())
    check([s["service_code"] for s in xml_services] == codes, "services.xml lists the same services")
    check(all(s.get("metadata") == "false" and s.get("type") == "realtime" for s in xml_services), "XML services are realtime")
    xml_request = xml_client.get_service_request(request_id)
    check(xml_request.get("service_request_id") == request_id and xml_request.get("status") == "open",
          f"requests/{request_id}.xml: {xml_request}")
    xml_found = as_list(xml_client.get_service_requests(service_request_id=request_id))
    check([r["service_request_id"] for r in xml_found] == [request_id], "search by id in XML")

    # Errors: georeport raises for them; the body is GeoReport's error list.
    try:
        client.get_service_request("999999")
        check(False, "an unknown request raises")
    except requests.HTTPError as error:
        body = error.response.json()
        check(error.response.status_code == 404 and body[0].get("code") == 404 and body[0].get("description"),
              f"an unknown request is a 404 error list: {body}")
    try:
        client.get_service_definition("teleportation")
        check(False, "an unknown service raises")
    except requests.HTTPError as error:
        check(error.response.status_code == 404, f"an unknown service is a 404: {error.response.text}")

    print(f"georeport client: {checks.passed} checks passed, {checks.failed} failed")
    return 0 if checks.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
