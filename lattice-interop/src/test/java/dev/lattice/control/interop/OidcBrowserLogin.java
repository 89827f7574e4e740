package dev.lattice.control.interop;

import dev.lattice.control.oidc.Browser;
import java.io.File;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.openqa.selenium.By;
import org.openqa.selenium.SessionNotCreatedException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * A person logging in, run as its own JVM inside a lab host's network namespace (the test JVM cannot reach it):
 * opens the URL a client printed, signs in at Keycloak's form and presses Lattice's "Register device" button.
 * {@code chromium} drives Debian's chromium through chromedriver (Selenium); {@code http} uses the plain HTTP browser.
 * Exits 0 and prints {@code LOGIN OK: <heading>} when Lattice said the device is registered.
 *
 * <p>Usage: {@code OidcBrowserLogin chromium|http URL USER PASSWORD}
 */
public final class OidcBrowserLogin {
    public static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    public static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    private OidcBrowserLogin() {}

    public static boolean chromiumInstalled() {
        return Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: OidcBrowserLogin chromium|http URL USER PASSWORD");
            System.exit(2);
        }
        String heading = args[0].equals("chromium") ? chromium(args[1], args[2], args[3]) : http(args[1], args[2], args[3]);
        System.out.println("LOGIN OK: " + heading);
        System.exit(0);
    }

    static String http(String url, String user, String password) throws Exception {
        Browser b = new Browser();
        Browser.Page p = b.login(b.get(URI.create(url)), user, password);
        if (p.status() != 200 || !p.body().contains("Register this device?")) throw new AssertionError("no confirmation page: " + p.body());
        Browser.Page done = b.submit(p.form("/register/confirm/"), Map.of());
        if (!done.body().contains("Device registered") && !done.body().contains("Device reauthenticated")) {
            throw new AssertionError("not registered: HTTP " + done.status() + " " + done.body());
        }
        return done.body().contains("Device registered") ? "Device registered" : "Device reauthenticated";
    }

    static String chromium(String url, String user, String password) throws Exception {
        Path profile = Files.createTempDirectory("lattice-chromium");
        ChromeOptions o = new ChromeOptions();
        o.setBinary(CHROMIUM.toFile());
        // Root in a network namespace: no sandbox; no GPU or /dev/shm to rely on.
        o.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                "--user-data-dir=" + profile);
        WebDriver d = startChromium(o);
        try {
            step("chromium started; opening " + url);
            d.get(url);
            WebElement name = await(() -> first(d, By.name("username")), "Keycloak's login form", d);
            step("Keycloak's login form at " + d.getCurrentUrl());
            name.sendKeys(user);
            d.findElement(By.name("password")).sendKeys(password);
            d.findElement(By.name("password")).submit();
            WebElement button = await(() -> first(d, By.cssSelector("form[action^='/register/confirm/'] button[type=submit]")),
                    "Lattice's confirmation page", d);
            step("Lattice's confirmation page at " + d.getCurrentUrl());
            button.click();
            // The heading's text, read as it is found: the confirmation page's own h1 can be found just before the
            // click's navigation replaces it, and reading it after that is a stale element.
            return await(() -> {
                WebElement h = first(d, By.tagName("h1"));
                String text = h == null ? null : h.getText();
                return text != null && text.startsWith("Device") ? text : null;
            }, "Lattice's result page", d);
        } finally {
            d.quit();
        }
    }

    /**
     * Starts chromium under chromedriver, once more if the first start fails: on a loaded CI machine chromium
     * sometimes dies before chromedriver sees its DevTools port ("session not created"), which says nothing about
     * the login under test.
     */
    private static WebDriver startChromium(ChromeOptions o) {
        for (int attempt = 1; ; attempt++) {
            ChromeDriverService service = new ChromeDriverService.Builder()
                    .usingDriverExecutable(new File(CHROMEDRIVER.toString())).usingAnyFreePort().build();
            try {
                return new ChromeDriver(service, o);
            } catch (SessionNotCreatedException e) {
                service.stop();
                if (attempt == 2) throw e;
                step("chromium did not start (" + e.getMessage().lines().findFirst().orElse("") + "); trying again");
            }
        }
    }

    /** Progress on stderr, so a failure's output tells how far the login got and how long each page took. */
    private static void step(String what) {
        System.err.println(Instant.now() + " " + what);
    }

    private static WebElement first(WebDriver d, By by) {
        List<WebElement> l = d.findElements(by);
        return l.isEmpty() ? null : l.getFirst();
    }

    /**
     * What {@code what} finds, asked every 200 ms for up to a minute. An element that goes stale while it is read (its
     * page navigated away meanwhile) counts as not found yet.
     */
    private static <T> T await(Supplier<T> what, String description, WebDriver d) throws InterruptedException {
        Instant end = Instant.now().plus(Duration.ofSeconds(60));
        while (Instant.now().isBefore(end)) {
            try {
                T e = what.get();
                if (e != null) return e;
            } catch (org.openqa.selenium.StaleElementReferenceException navigated) {
                // the next round looks at the new page
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no " + description + " at " + d.getCurrentUrl() + ":\n" + d.getPageSource());
    }
}
