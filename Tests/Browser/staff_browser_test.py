#!/usr/bin/env python3
"""The staff web page in a real browser (headless Chromium through Selenium).

Run by Tests/ServerTests/StaffBrowserTests.swift inside `swift test`; it can
also be run by hand after `swift build`:

    python3 Tests/Browser/staff_browser_test.py --concierge .build/debug/concierge \
        --home /tmp/home-with-model --package-dir . --artifacts .build/test-artifacts/staff-browser

It starts the real `concierge serve` (REST channel, port 0) on the given home
(which must hold the trained model), seeds a staff account with
`concierge staff add` and tickets through the REST webhook and the CLI, then
signs in, checks the queue order, re-categorises the emergency, writes a
public reply, checks the store (`concierge ticket show --json`) and the
resident's status lookup, checks that a resident's XSS attempt renders as
text, that the queue refreshes without a reload, and that the page fits a
phone's screen. Screenshots go to --artifacts. Exits 0 only when every check
passed; missing Chromium, chromedriver or Selenium is a failure, not a skip.
"""

import argparse
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

PASSWORD = "correct horse battery staple"
STAFF = "ivy"
REST_TOKEN = "browser-test-rest-token"
XSS = "<img src=x onerror=alert(1)><script>alert(2)</script>"
REPLY = "A plumber is on the way; please move things away from the leak."

passed = 0
failed = 0


def check(condition, what):
    """Records one check; a failed one is printed and counted, and the run goes on."""
    global passed, failed
    if condition:
        passed += 1
        print(f"ok - {what}", flush=True)
    else:
        failed += 1
        print(f"FAILED - {what}", flush=True)
    return condition


def require(condition, what):
    """A check the rest of the run depends on: stop here when it fails."""
    if not check(condition, what):
        raise SystemExit(finish())


def finish():
    print(f"staff browser test: {passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 and passed > 0 else 1


def preflight():
    """Chromium, chromedriver and Selenium must be installed (.ci/run installs them)."""
    problems = []
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
    if not chromium:
        problems.append("Chromium is not installed (apt-get install chromium)")
    if not driver:
        problems.append("chromedriver is not installed (apt-get install chromium-driver)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        problems.append(f"Selenium is not installed for {sys.executable} (python3 -m pip install selenium)")
    for problem in problems:
        print(f"FAILED - {problem}", flush=True)
    if problems:
        print("staff browser test: 0 passed, 1 failed", flush=True)
        sys.exit(1)
    return chromium, driver


class Concierge:
    """The real binary: CLI commands and the server."""

    def __init__(self, binary, home, package_dir):
        self.binary = binary
        self.home = home
        self.env = dict(os.environ)
        self.env.update({"CONCIERGE_REST_TOKEN": REST_TOKEN, "CONCIERGE_PACKAGE_DIR": package_dir, "NO_COLOR": "1"})
        self.env.pop("CONCIERGE_STORE", None)
        self.server = None
        self.port = None
        self.log = []

    def cli(self, *arguments, stdin=None):
        result = subprocess.run([self.binary, *arguments, "--home", self.home], input=stdin, capture_output=True,
                                text=True, env=self.env, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"concierge {' '.join(arguments)} failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def start(self):
        self.server = subprocess.Popen([self.binary, "serve", "--home", self.home, "--channel", "rest", "--port", "0"],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env)
        # "Concierge listening on http://127.0.0.1:PORT (channels: rest)"
        line = self.server.stdout.readline()
        threading.Thread(target=self._drain, daemon=True).start()
        if "127.0.0.1:" not in line:
            raise RuntimeError(f"concierge serve did not start: {line!r}")
        self.port = int(line.split("127.0.0.1:")[1].split()[0])
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url("/readyz"), timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.2)
        raise RuntimeError("the model did not load within 180 s")

    def _drain(self):
        for line in self.server.stderr:
            self.log.append(line)

    def stop(self):
        if self.server and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.server.kill()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def rest_photo(self, sender, jpeg):
        """A photo alone through the REST webhook (bytes in base64); returns the reply text."""
        body = json.dumps({"sender": sender, "message": "", "metadata": {"attachments": [
            {"content_type": "image/jpeg", "data": base64.b64encode(jpeg).decode()}]}}).encode()
        request = urllib.request.Request(self.url("/webhooks/rest/webhook"), data=body, method="POST", headers={
            "Authorization": f"Bearer {REST_TOKEN}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return "\n".join(reply.get("text", "") for reply in json.loads(response.read()))

    def rest(self, sender, message):
        """A resident's message through the REST webhook; returns (reply text, ticket numbers)."""
        body = json.dumps({"sender": sender, "message": message}).encode()
        request = urllib.request.Request(self.url("/webhooks/rest/webhook"), data=body, method="POST", headers={
            "Authorization": f"Bearer {REST_TOKEN}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            replies = json.loads(response.read())
        text = "\n".join(reply.get("text", "") for reply in replies)
        tickets = [number for reply in replies for number in (reply.get("custom") or {}).get("tickets", [])]
        return text, tickets


def grey_jpeg_with_gps():
    """An 8x8 mid-grey baseline JPEG with an EXIF GPS segment and a comment
    (the bytes of Tests/TestSupport/TestImages.swift greyJPEG(withGPS: true))."""
    def segment(marker, payload):
        return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload
    tiff = b"MM\x00\x2a\x00\x00\x00\x08"
    ifd0 = bytes([0, 1, 0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0])
    gps = bytes([0, 2, 0, 1, 0, 2, 0, 0, 0, 2]) + b"N\0\0\0" + bytes([0, 3, 0, 2, 0, 0, 0, 2]) + b"W\0\0\0" + bytes(4)
    return (b"\xff\xd8" + segment(0xE0, b"JFIF" + bytes([0, 1, 1, 0, 0, 1, 0, 1, 0, 0]))
            + segment(0xE1, b"Exif\0\0" + tiff + ifd0 + gps + b"GPS 49.2827N 123.1207W")
            + segment(0xFE, b"taken at 2150 Maple Court Lane")
            + segment(0xDB, bytes([0]) + bytes([1] * 64)) + segment(0xC0, bytes([8, 0, 8, 0, 8, 1, 1, 0x11, 0]))
            + segment(0xC4, bytes([0x00, 1] + [0] * 15 + [0])) + segment(0xC4, bytes([0x10, 1] + [0] * 15 + [0]))
            + segment(0xDA, bytes([1, 1, 0, 0, 63, 0])) + bytes([0x3F, 0xFF, 0xD9]))


def browser(chromium, driver_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,900", "--lang=en-US"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    # Record alert() calls instead of showing them, and CSP violations, on every page from now on.
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
        "window.__alerts = []; window.alert = function (m) { window.__alerts.push(String(m)); };"
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " function (e) { window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); });")})
    return driver


def console_errors(driver):
    """The browser console's errors since the last call."""
    try:
        return [entry["message"] for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
    except Exception as error:  # a driver without logs: say so, as a failure
        return [f"cannot read the console: {error}"]


def run(arguments):
    chromium, driver_path = preflight()
    os.makedirs(arguments.artifacts, exist_ok=True)
    concierge = Concierge(arguments.concierge, arguments.home, arguments.package_dir)

    concierge.cli("staff", "add", STAFF, "--admin", stdin=PASSWORD + "\n")
    try:
        concierge.start()
        check(True, f"concierge serve is up on port {concierge.port} with the model loaded")

        reply, tickets = concierge.rest("ana", "Water is pouring through my ceiling in unit 4B!")
        require(len(tickets) == 1, f"ana's emergency was filed at once (reply: {reply!r})")
        emergency = tickets[0]
        photo_reply = concierge.rest_photo("ana", grey_jpeg_with_gps())
        check(f"#{emergency}" in photo_reply, f"ana's photo went on her emergency ticket (reply: {photo_reply!r})")
        bob = json.loads(concierge.cli("ticket", "create", "--category", "noise", "--priority", "P3", "--unit", "2C",
                                       "--resident", "rest:bob", "--json", "The neighbours play loud music every night"))
        routine = bob["number"]
        reply, tickets = concierge.rest("mallory", XSS + " I smell gas in the hallway")
        require(len(tickets) == 1, f"mallory's message was filed (reply: {reply!r})")
        hostile = tickets[0]

        driver = browser(chromium, driver_path)
        try:
            exercise(driver, concierge, arguments.artifacts, emergency, routine, hostile)
        finally:
            driver.quit()
    finally:
        concierge.stop()
        if failed:
            print("server log (last lines):\n" + "".join(concierge.log[-20:]), flush=True)
    return finish()


def exercise(driver, concierge, artifacts, emergency, routine, hostile):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    def shot(name):
        path = os.path.join(artifacts, name)
        driver.save_screenshot(path)
        print(f"   screenshot {path}", flush=True)

    wait = WebDriverWait(driver, 30)

    # Nothing under /staff without a session: the queue sends the browser to sign in.
    driver.get(concierge.url("/staff"))
    require("/staff/login" in driver.current_url, f"/staff without a session goes to the login page ({driver.current_url})")
    driver.find_element(By.ID, "name").send_keys(STAFF)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    shot("01-login.png")
    driver.find_element(By.ID, "sign-in").click()
    wait.until(lambda d: d.find_elements(By.ID, "queue-rows"))
    cookie = driver.get_cookie("__Host-concierge_staff")
    require(cookie is not None, "signing in set the session cookie")
    check(cookie.get("httpOnly") and cookie.get("secure") and cookie.get("sameSite") == "Lax",
          f"the session cookie is HttpOnly, Secure and SameSite=Lax ({cookie})")
    check(driver.execute_script("return document.cookie").find("concierge_staff") < 0,
          "scripts cannot read the session cookie")

    rows = driver.find_elements(By.CSS_SELECTOR, "#queue-rows tr[data-ticket]")
    numbers = [int(row.get_attribute("data-ticket")) for row in rows]
    require(numbers and numbers[0] == emergency, f"the P1 emergency #{emergency} is at the top of the queue ({numbers})")
    first = rows[0]
    check(first.find_element(By.CSS_SELECTOR, ".badge").text == "P1", "the top row says P1")
    check("left" in first.find_element(By.CSS_SELECTOR, "td.sla").text, "the top row shows the SLA time left")
    check(first.find_element(By.CSS_SELECTOR, "td[data-label='Language']").text == "en", "the top row shows the resident's language")
    check(all(number in numbers for number in (emergency, hostile, routine))
          and numbers.index(emergency) < numbers.index(hostile) < numbers.index(routine),
          f"P1 tickets, oldest first, come before the P3 one ({numbers})")
    check(XSS in driver.find_element(By.ID, "queue-rows").text, "the hostile message shows as text in the queue")
    shot("02-queue.png")

    # The emergency: the explanation highlights the resident's words.
    first.find_element(By.CSS_SELECTOR, "a.ticket-link").click()
    wait.until(lambda d: d.find_elements(By.ID, "category-select"))
    marks = driver.find_elements(By.CSS_SELECTOR, "#explained mark")
    check(len(marks) > 0 and all(mark.text.strip() in "Water is pouring through my ceiling in unit 4B!" for mark in marks),
          f"the explanation highlights words of the message ({[mark.text for mark in marks]})")
    shot("03-ticket.png")
    photos = driver.find_elements(By.CSS_SELECTOR, "#photos img.thumb")
    check(len(photos) == 1 and driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", photos[0]) == 8,
          "the resident's photo is shown, decoded by the browser (8 px wide)")
    photo_url = photos[0].get_attribute("src") if photos else concierge.url("/staff/tickets/1/attachments/1")
    try:
        urllib.request.urlopen(photo_url, timeout=10)
        check(False, "the photo is refused without a session")
    except urllib.error.HTTPError as error:
        check(error.code == 401, f"the photo is refused without a session ({error.code})")

    select = Select(driver.find_element(By.ID, "category-select"))
    current = select.first_selected_option.get_attribute("value")
    target = "building_maintenance" if current == "plumbing" else "plumbing"
    select.select_by_value(target)
    driver.find_element(By.ID, "category-submit").click()
    wait.until(lambda d: "done=category" in d.current_url)
    check(Select(driver.find_element(By.ID, "category-select")).first_selected_option.get_attribute("value") == target,
          f"the ticket page shows the new category {target} (was {current})")

    driver.find_element(By.ID, "note-text").send_keys(REPLY)
    driver.find_element(By.ID, "note-public").click()
    driver.find_element(By.ID, "note-submit").click()
    wait.until(lambda d: "done=public" in d.current_url)
    check(REPLY in driver.find_element(By.ID, "notes").text, "the public reply is on the ticket")
    shot("04-ticket-after.png")

    detail = json.loads(concierge.cli("ticket", "show", str(emergency), "--json"))
    check(detail["ticket"]["category"] == target, f"the store has the new category ({detail['ticket']['category']})")
    check(any(note["visibility"] == "public" and note["text"] == REPLY and note["author"] == STAFF for note in detail["notes"]),
          "the store has the public reply by ivy")
    check(any(event["kind"] == "category" and event["actor"] == STAFF and event.get("to") == target
              for event in detail["events"]), "the audit log records the re-categorisation by ivy")
    status_reply, _ = concierge.rest("ana", f"status of #{emergency}")
    check(REPLY in status_reply, f"the resident's status lookup shows the reply ({status_reply!r})")

    # The hostile message renders as text: no image, no script ran.
    driver.get(concierge.url(f"/staff/tickets/{hostile}"))
    wait.until(lambda d: d.find_elements(By.ID, "ticket-description"))
    try:
        driver.switch_to.alert
        check(False, "no alert dialog is open")
    except NoAlertPresentException:
        check(True, "no alert dialog is open")
    check(driver.execute_script("return window.__alerts.length") == 0, "alert() was never called")
    check(driver.execute_script("return document.querySelectorAll('img').length") == 0, "the <img> was not created")
    check(driver.execute_script(
        "return Array.from(document.scripts).filter(s => s.textContent.indexOf('alert(2)') >= 0).length") == 0,
        "the <script> was not created")
    check(XSS in driver.find_element(By.ID, "ticket-description").text, "the description shows the markup as text")
    check(XSS in driver.find_element(By.ID, "transcript").text, "the conversation shows the markup as text")
    explained = driver.find_element(By.ID, "explained")
    check(XSS in explained.text and len(explained.find_elements(By.TAG_NAME, "mark")) > 0,
          "the highlighted explanation shows the markup as text")
    shot("05-hostile-ticket.png")

    # The queue refreshes itself: a new ticket appears without a reload.
    driver.get(concierge.url("/staff"))
    wait.until(lambda d: d.find_elements(By.ID, "queue-rows"))
    driver.execute_script("window.__sameDocument = true;")
    _, tickets = concierge.rest("carol", "There is smoke coming out of the laundry room!")
    if check(len(tickets) == 1, "carol's emergency was filed"):
        appeared = WebDriverWait(driver, 45).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, f"#queue-rows tr[data-ticket='{tickets[0]}']"))
        check(bool(appeared) and driver.execute_script("return window.__sameDocument === true"),
              f"the new ticket #{tickets[0]} appeared in the queue without reloading the page")

    # A phone-sized screen: the queue fits without sideways scrolling.
    driver.set_window_size(390, 844)
    driver.get(concierge.url("/staff"))
    wait.until(lambda d: d.find_elements(By.ID, "queue-rows"))
    fits = driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    check(fits, "the queue fits a 390 px wide screen")
    shot("06-queue-phone.png")
    driver.get(concierge.url(f"/staff/tickets/{emergency}"))
    wait.until(lambda d: d.find_elements(By.ID, "note-form"))
    check(driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1"),
          "the ticket page fits a 390 px wide screen")
    shot("07-ticket-phone.png")

    # Insights on demo data, on the phone: four charts with their series, no sideways scrolling, no error, no CSP violation.
    concierge.cli("store", "seed", "--demo", "--months", "3")
    console_errors(driver)
    driver.get(concierge.url("/staff/insights"))
    wait.until(lambda d: d.find_elements(By.ID, "chart-volume"))
    charts = driver.find_elements(By.CSS_SELECTOR, "figure.chart > svg")
    check(len(charts) == 4 and all(chart.size["width"] > 300 for chart in charts),
          f"four charts are drawn full width ({[chart.size for chart in charts]})")
    for chart, series in [("chart-volume", 7), ("chart-sla", 2), ("chart-backlog", 1), ("chart-ratings", 1)]:
        keys = driver.find_elements(By.CSS_SELECTOR, f"#{chart} .legend .key")
        bars = driver.find_elements(By.CSS_SELECTOR, f"#{chart} rect.bar")
        check(len(keys) == series and len(bars) > 0, f"{chart}: {series} series, {len(bars)} bars drawn")
    check("building 2 · elevator" in driver.find_element(By.ID, "recurring").text,
          "the failing elevator is among the recurring problems")
    check(driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1"),
          "the insights page fits a 390 px wide screen")
    check(driver.execute_script("return window.__csp.length") == 0,
          f"no CSP violation on the insights page ({driver.execute_script('return window.__csp')})")
    errors = console_errors(driver)
    check(not errors, f"no console error on the insights page ({errors})")
    shot("09-insights-phone.png")
    driver.set_window_size(1280, 900)

    # The admin page: add a staff account.
    driver.get(concierge.url("/staff/admin"))
    form = wait.until(lambda d: d.find_element(By.ID, "add-account"))
    form.find_element(By.NAME, "name").send_keys("joe")
    form.find_element(By.NAME, "password").send_keys("another long pass phrase")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: "done=added" in d.current_url)
    check(bool(driver.find_elements(By.CSS_SELECTOR, "#accounts tr[data-account='joe']")), "an admin added the account joe")
    accounts = json.loads(concierge.cli("staff", "list", "--json"))
    check(any(account["name"] == "joe" and account["role"] == "staff" for account in accounts), "the store has joe as staff")
    shot("08-admin.png")

    # Signing out ends the session: the queue asks to sign in again.
    driver.find_element(By.ID, "sign-out").click()
    wait.until(lambda d: "/staff/login" in d.current_url)
    driver.get(concierge.url("/staff"))
    check("/staff/login" in driver.current_url, "after signing out, /staff goes to the login page")
    check(driver.execute_script("return window.__alerts.length") == 0, "no alert() anywhere")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concierge", required=True, help="the concierge binary")
    parser.add_argument("--home", required=True, help="a Concierge home holding the trained model")
    parser.add_argument("--package-dir", required=True, help="the checkout (for intents/ and vocab/)")
    parser.add_argument("--artifacts", required=True, help="where screenshots go")
    arguments = parser.parse_args()
    # Bounded: the whole run gives up after 10 minutes.
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("the browser test ran over 10 minutes")))
    signal.alarm(600)
    try:
        return run(arguments)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    except Exception as error:  # any other failure is a failed run, with its reason
        check(False, f"{type(error).__name__}: {error}")
        return finish()


if __name__ == "__main__":
    sys.exit(main())
