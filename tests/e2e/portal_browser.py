"""A real browser on the LiteMaaS portal: Debian's chromium driven by chromedriver (selenium).

Chromium runs headless with a fresh profile and without its background connections (this
machine's network is closed: they would be refused). Every page the test looks at is kept as a
screenshot in tests/output/portal/<n>-<name>.png.
"""
import os
import shutil
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--window-size=1400,1000"]


class Portal:
    def __init__(self, url, shots_dir, timeout=30):
        self.url = url.rstrip("/")
        self.shots_dir = shots_dir
        self.timeout = timeout
        self.shots = []
        os.makedirs(shots_dir, exist_ok=True)
        self.profile = tempfile.mkdtemp(prefix="maas-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for flag in FLAGS + ["--user-data-dir=" + self.profile]:
            opts.add_argument(flag)
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)

    def close(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    # --- looking -------------------------------------------------------------------------------
    def shot(self, name):
        path = os.path.join(self.shots_dir, "%02d-%s.png" % (len(self.shots) + 1, name))
        self.driver.save_screenshot(path)
        self.shots.append(path)
        return path

    def find(self, xpath, timeout=None):
        return WebDriverWait(self.driver, timeout or self.timeout).until(
            ec.visibility_of_element_located((By.XPATH, xpath)))

    def click(self, xpath, timeout=None):
        """Click the element at `xpath` once it is clickable. The portal (React) re-renders a list when its data
        arrives: an element found just before may be replaced before the click lands; it is then found again."""
        for attempt in range(3):
            try:
                WebDriverWait(self.driver, timeout or self.timeout).until(
                    ec.element_to_be_clickable((By.XPATH, xpath))).click()
                return
            except StaleElementReferenceException:
                if attempt == 2:
                    raise

    def text(self, within="//body"):
        """The text of the element at `within` now ('' while there is none)."""
        try:
            return self.driver.find_element(By.XPATH, within).text
        except WebDriverException:
            return ""

    def wait_text(self, text, within="//body", timeout=None):
        """Wait until `text` shows inside the element at `within`; return that element's text."""
        end = time.time() + (timeout or self.timeout)
        while True:
            content = self.text(within)
            if text in content:
                return content
            if time.time() > end:
                raise AssertionError("%r not shown within %s s on %s; page says: %s"
                                     % (text, timeout or self.timeout, self.driver.current_url, content[:1500]))
            time.sleep(0.25)

    def open(self, path, wait_for):
        self.driver.get(self.url + path)
        return self.wait_text(wait_for, within="//main" if path not in ("/login",) else "//body")

    # --- doing ---------------------------------------------------------------------------------
    def login(self, code):
        """Sign in as mock user `code` (0 admin, 1 consumer, 2 read-only) the way a person does:
        the portal's login button, then the demo login page's choice. On failure, keep a screenshot
        and say what the page showed."""
        try:
            self.driver.get(self.url + "/login")
            self.driver.delete_all_cookies()
            self.driver.execute_script("window.localStorage.clear(); window.sessionStorage.clear();")
            self.driver.get(self.url + "/login")
            self.click("//button[contains(., 'Log in with SSO')]")
            self.find("//h1[contains(., 'Demo login')]")
            self.click("//a[@id='mock-user-%d']" % code)
            WebDriverWait(self.driver, self.timeout).until(lambda d: d.current_url.rstrip("/").endswith("/home"))
            self.find("//main")
        except WebDriverException as exc:
            self.shot("login-%d-failed" % code)
            raise AssertionError("login as mock user %d failed; at %s the page says: %s"
                                 % (code, self.driver.current_url, self.text()[:1500])) from exc

    def dialog_button(self, label):
        self.click("//div[@role='dialog']//button[normalize-space(.)=%r]" % label)
