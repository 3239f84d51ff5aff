package dev.aded.examples.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web chat page in a real browser: Debian's chromium, driven by Selenium through chromium-driver, headless and
 * talking only to the server on 127.0.0.1. Skipped where chromium is not installed (.ci/run installs it).
 */
class WebPageTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path DRIVER = Path.of("/usr/bin/chromedriver");
    private static final String PROMPT = "def fibonacci(n):";

    @Test
    void typesAPromptAndWatchesTheAnswerStreamWithItsSpeed(@TempDir Path profile) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(DRIVER),
                "chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)");
        try (TestServer server = new TestServer(null, 4, 16)) {
            ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile());
            options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--user-data-dir=" + profile, "--window-size=1100,700");
            ChromeDriverService service = new ChromeDriverService.Builder()
                    .usingDriverExecutable(DRIVER.toFile()).usingAnyFreePort().build();
            ChromeDriver browser = new ChromeDriver(service, options);
            try {
                browser.get(server.uri("/").toString());
                WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(120));
                wait.until(b -> b.findElement(By.id("model")).getText().startsWith("code-15m"));
                browser.findElement(By.id("max")).clear();
                browser.findElement(By.id("max")).sendKeys("64");
                browser.findElement(By.id("prompt")).sendKeys(PROMPT, Keys.ENTER);

                // Sample the answer while it streams: it must be seen growing, not only arrive whole.
                List<Integer> lengths = new ArrayList<>();
                WebElement stats = browser.findElement(By.id("stats"));
                wait.pollingEvery(Duration.ofMillis(20)).until(b -> {
                    List<WebElement> answer = b.findElements(By.cssSelector(".assistant"));
                    if (!answer.isEmpty()) {
                        lengths.add(answer.get(0).getText().length());
                    }
                    return stats.getText().endsWith("done");
                });
                String answer = browser.findElement(By.cssSelector(".assistant")).getText();
                assertEquals(server.greedyChat(PROMPT, 64).strip(), answer.strip());
                assertTrue(lengths.stream().distinct().filter(n -> n > 0 && n < answer.length()).count() >= 2,
                        "the answer was not seen streaming; lengths seen: " + lengths);
                String line = stats.getText();
                assertTrue(line.matches("aded: [0-9]+ tokens · [0-9.]+ tokens/s · [0-9.]+ tokens accepted per pass"
                        + " \\([0-9]+ passes\\) · done"), line);
                File shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
                Path target = Path.of("target", "web-chat-page.png");
                Files.copy(shot.toPath(), target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            } finally {
                browser.quit();
            }
        }
    }
}
