#!/usr/bin/env python3
"""Drives the dashboard in headless Chromium (python3-selenium + chromium-driver).

Usage: dashboard_probe.py URL TOKEN WORKDIR UNKNOWN_MAC
Loads URL/#token=TOKEN, waits for host pc1's card, prints READY and waits for WORKDIR/booted
(the test boots a simulated PC meanwhile), then waits for pc1's card to show a later phase
(live, from /api/v1/events: the page is not reloaded), adopts UNKNOWN_MAC through its form as
host "adopted", waits for that host's card, saves WORKDIR/dashboard.png and prints OK.
Any failure prints FAIL and the reason, with the page's text.
"""
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

url, token, work, unknown = sys.argv[1:5]


def say(*a):
    print(*a, flush=True)


opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
          "--window-size=1100,800", f"--user-data-dir={work}/chromium-profile"):
    opts.add_argument(a)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
wait = WebDriverWait(driver, 20, poll_frequency=0.2)
try:
    driver.get(f"{url}/#token={token}")
    card = wait.until(lambda d: d.find_element(By.ID, "host-pc1"))
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-live") == "yes")
    before = card.get_attribute("data-phase")
    say("READY", before)
    deadline = time.time() + 60
    while not os.path.exists(os.path.join(work, "booted")):
        if time.time() > deadline:
            raise RuntimeError("the test never booted the PC")
        time.sleep(0.2)
    wait.until(lambda d: d.find_element(By.ID, "host-pc1").get_attribute("data-phase")
               in ("script", "kernel"))
    say("PHASE", driver.find_element(By.ID, "host-pc1").get_attribute("data-phase"))
    form = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f"[id='unknown-{unknown}'] form"))
    form.find_element(By.NAME, "name").send_keys("adopted")
    form.find_element(By.NAME, "image").send_keys("live")
    form.find_element(By.NAME, "boot").send_keys("linux")
    form.find_element(By.TAG_NAME, "button").click()
    wait.until(lambda d: d.find_elements(By.ID, "host-adopted"))
    say("ADOPTED")
    driver.save_screenshot(os.path.join(work, "dashboard.png"))
    say("OK")
except Exception as e:  # the test prints why, with what the page showed
    say("FAIL", repr(e))
    try:
        say(driver.find_element(By.TAG_NAME, "body").text)
    except Exception:
        pass
    sys.exit(1)
finally:
    driver.quit()
