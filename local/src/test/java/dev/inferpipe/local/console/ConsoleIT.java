package dev.inferpipe.local.console;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.inferpipe.core.config.Env;
import dev.inferpipe.core.job.Sha256;
import dev.inferpipe.local.LocalStack;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The web console in a real browser (Debian's headless Chromium, over the DevTools protocol)
 * against the real local stack with API keys on: submit both tasks through the forms, watch them
 * succeed in the list without a reload, open each job (image loaded, waterfall bars for
 * queue.wait and every step), cancel a long job, field errors, a wrong key, tenant isolation.
 * Screenshots at 1280x800 and 390x844 go to {@code target/console-screenshots/}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleIT {
  private static final Duration JOB = Duration.ofSeconds(90);
  private static final Path SHOTS = Path.of("target", "console-screenshots");
  private LocalStack stack;
  private Chromium browser;
  private String console;

  /** The webhook receiver of key "hooked" (its default_url). */
  private com.sun.net.httpserver.HttpServer hooks;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    assumeTrue(Chromium.binary().isPresent(), "Debian's chromium is not installed (.ci/run "
        + "installs it: apt-get install chromium)");
    hooks = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress(
        java.net.InetAddress.getLoopbackAddress(), 0), 0);
    hooks.createContext("/hook", exchange -> {
      exchange.getRequestBody().readAllBytes();
      exchange.sendResponseHeaders(204, -1);
      exchange.close();
    });
    hooks.start();
    String hooked = key("hooked", "secret-hooked", "team-hook", false, 100);
    hooked = hooked.substring(0, hooked.length() - 1) + ",\"webhook\":{\"secret\":\""
        + "h".repeat(32) + "\",\"allowed_hosts\":[\"127.0.0.1\"],\"default_url\":"
        + "\"http://127.0.0.1:" + hooks.getAddress().getPort() + "/hook\"}}";
    Path keys = dir.resolve("keys.json");
    Files.writeString(keys, "{\"keys\":[" + key("a", "secret-a", "team-a", false, 100) + ","
        + key("b", "secret-b", "team-b", false, 100) + ","
        + key("off", "secret-off", "team-a", true, 100) + ","
        + key("slow", "secret-slow", "team-slow", false, 0.001) + "," + hooked + "]}");
    Map<String, String> env = new HashMap<>(LocalStack.ephemeralEnv(dir.resolve("data")));
    env.put("INFERPIPE_API_KEYS_FILE", keys.toString());
    env.put("INFERPIPE_DEVICE", "cpu");
    env.put("LOG_LEVEL", "WARN");
    stack = LocalStack.start(Env.of(env));
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    while (!stack.consumerReady() && System.nanoTime() < deadline) {
      Thread.sleep(200);
    }
    browser = Chromium.launch(Chromium.binary().orElseThrow(), dir.resolve("chromium"));
    console = stack.apiUrl() + "/console";
  }

  @AfterAll
  void stop() {
    if (hooks != null) {
      hooks.stop(0);
    }
    if (browser != null) {
      browser.close();
    }
    if (stack != null) {
      stack.close();
    }
  }

  /** An API key entry; a rate under 1/s gets a burst of 1, so its second submission is 429. */
  private static String key(String id, String secret, String tenant, boolean disabled,
      double rate) {
    int burst = rate < 1 ? 1 : 100;
    return "{\"id\":\"" + id + "\",\"tenant\":\"" + tenant + "\",\"sha256\":\""
        + Sha256.hex(secret) + "\",\"disabled\":" + disabled + ",\"rate_per_second\":" + rate
        + ",\"burst\":" + burst + ",\"max_queued\":100}";
  }

  /** Opens the console and types {@code key} into its key form ("Change key" first if set). */
  private void signIn(String key) throws Exception {
    browser.navigate(console);
    browser.eval("(() => { if (document.getElementById('key-view').hidden) {"
        + " document.getElementById('forget-key').click(); } })()");
    browser.await("!document.getElementById('key-view').hidden", Duration.ofSeconds(20));
    browser.eval("document.getElementById('key-input').value = " + Chromium.quote(key)
        + "; document.getElementById('key-form').requestSubmit()");
  }

  /** The id of the job a form just submitted, from its "Submitted" link (the list may lag). */
  private String submitted(String form) throws Exception {
    String note = "document.querySelector('#" + form + " p.submitted')";
    browser.await(note + ".dataset.jobId", Duration.ofSeconds(20));
    String id = browser.eval(note + ".dataset.jobId").asString();
    assertThat(browser.eval(note + ".textContent").asString()).isEqualTo("Submitted " + id);
    return id;
  }

  private void fill(String id, String value) throws Exception {
    browser.eval("(() => { const e = document.getElementById(" + Chromium.quote(id) + ");"
        + " e.value = " + Chromium.quote(value) + "; e.dispatchEvent(new Event('input')); })()");
  }

  private void shot(String name) throws Exception {
    browser.viewport(1280, 800, false);
    Thread.sleep(300);
    browser.screenshot(SHOTS.resolve(name + "-1280x800.png"));
    browser.viewport(390, 844, true);
    Thread.sleep(300);
    browser.screenshot(SHOTS.resolve(name + "-390x844.png"));
    browser.viewport(1280, 800, false);
  }

  @Test
  @Order(1)
  void aWrongKeyIsShownAs401() throws Exception {
    signIn("not-a-key");
    browser.await("document.getElementById('banner').textContent.includes('401')",
        Duration.ofSeconds(20));
    assertThat(browser.eval("document.getElementById('banner').textContent").asString())
        .contains("401", "UNAUTHENTICATED");
  }

  @Test
  @Order(2)
  void aBadFieldShowsItsErrorNextToIt() throws Exception {
    signIn("secret-a");
    browser.await("!document.getElementById('list-view').hidden", Duration.ofSeconds(20));
    fill("t-steps", "500");
    browser.eval("document.getElementById('form-txt2img').requestSubmit()");
    browser.await("document.querySelector('[data-field=\"input.steps\"] .error').textContent"
        + ".length > 0", Duration.ofSeconds(20));
    assertThat(browser.eval("document.querySelector('[data-field=\"input.steps\"] .error')"
        + ".textContent").asString()).isNotBlank();
    assertThat(browser.eval("document.getElementById('t-steps').getAttribute('aria-invalid')")
        .asString()).isEqualTo("true");
    shot("form-error");
  }

  @Test
  @Order(3)
  void jobsSubmittedThroughTheFormsSucceedInTheListWithoutAReload() throws Exception {
    signIn("secret-a");
    browser.await("!document.getElementById('list-view').hidden", Duration.ofSeconds(20));
    browser.eval("window.notReloaded = true");
    fill("t-steps", "6");
    fill("t-seed", "7");
    fill("t-prompt", "a blue square");
    browser.eval("document.getElementById('form-txt2img').requestSubmit()");
    browser.eval("document.getElementById('tab-vqa').click()");
    browser.eval("(() => { const dt = new DataTransfer(); const bytes = Uint8Array.from(atob("
        + Chromium.quote(scenePng()) + "), c => c.charCodeAt(0));"
        + " dt.items.add(new File([bytes], 'scene.png', {type: 'image/png'}));"
        + " document.getElementById('v-image').files = dt.files; })()");
    browser.eval("document.getElementById('form-vqa').requestSubmit()");
    browser.await("document.querySelectorAll('#jobs tbody tr').length >= 2", Duration.ofSeconds(20));
    browser.await("[...document.querySelectorAll('#jobs tbody tr')].slice(0, 2)"
        + ".every(tr => tr.children[1].textContent === 'SUCCEEDED')", JOB);
    assertThat(browser.eval("window.notReloaded === true").asBoolean())
        .as("the list updated live, without a reload").isTrue();
    assertThat(browser.eval("[...document.querySelectorAll('#jobs tbody tr')].slice(0, 2)"
        + ".map(tr => tr.children[2].textContent).sort().join(',')").asString())
        .isEqualTo("txt2img,vqa");
    shot("list");
  }

  @Test
  @Order(4)
  void aJobPageShowsTheImageTheWaterfallAndTheParameters() throws Exception {
    String txt2img = browser.eval("[...document.querySelectorAll('#jobs tbody tr')]"
        + ".find(tr => tr.children[2].textContent === 'txt2img').dataset.jobId").asString();
    browser.eval("document.querySelector('#jobs tbody tr[data-job-id=" + Chromium.quote(txt2img)
        + "] a').click()");
    browser.await("location.pathname === " + Chromium.quote("/console/jobs/" + txt2img)
        + " && document.getElementById('job-image') && document.getElementById('job-image')"
        + ".complete && document.getElementById('job-image').naturalWidth > 0", JOB);
    assertThat(browser.eval("document.getElementById('job-image').naturalWidth").asInt())
        .isEqualTo(32);
    browser.eval("document.getElementById('collapse-steps').click()");
    browser.await("document.querySelectorAll('#waterfall g[data-name^=\"diffusion.step \"]')"
        + ".length === 6", Duration.ofSeconds(20));
    assertThat(browser.eval("document.querySelectorAll('#waterfall g[data-name^=\"queue.wait\"]')"
        + ".length").asInt()).isEqualTo(1);
    assertThat(browser.eval("document.getElementById('job-params').textContent").asString())
        .contains("prompt_hash", "ddim", "7").doesNotContain("a blue square");
    assertThat(browser.eval("[...document.querySelectorAll('#job-timeline li')]"
        + ".map(li => li.dataset.state).join(',')").asString())
        .isEqualTo("QUEUED,RUNNING,SUCCEEDED");
    assertThat(browser.eval("document.getElementById('download-job').hidden").asBoolean())
        .isFalse();
    browser.eval("document.getElementById('collapse-steps').click()");
    shot("job");
    browser.eval("document.getElementById('wf-title').scrollIntoView()");
    browser.screenshot(SHOTS.resolve("waterfall-1280x800.png"));
  }

  @Test
  @Order(5)
  void aVqaJobPageShowsTheAnswer() throws Exception {
    browser.navigate(console);
    browser.await("document.querySelectorAll('#jobs tbody tr').length >= 2", Duration.ofSeconds(20));
    String vqa = browser.eval("[...document.querySelectorAll('#jobs tbody tr')]"
        + ".find(tr => tr.children[2].textContent === 'vqa').dataset.jobId").asString();
    browser.navigate(console + "/jobs/" + vqa);
    browser.await("document.getElementById('job-answer')", JOB);
    assertThat(browser.eval("document.getElementById('job-answer').textContent").asString())
        .isNotBlank();
    assertThat(browser.eval("document.getElementById('job-confidence').textContent").asString())
        .matches("confidence 0\\.\\d{3}|confidence 1\\.000");
    browser.eval("document.getElementById('collapse-steps').click()");
    browser.await("document.querySelectorAll('#waterfall g[data-name^=\"vqa.generate.step \"]')"
        + ".length >= 1", Duration.ofSeconds(20));
    assertThat(browser.eval("document.querySelectorAll('#waterfall g[data-name^=\"queue.wait\"]')"
        + ".length").asInt()).isEqualTo(1);
    browser.eval("document.getElementById('collapse-steps').click()");
  }

  @Test
  @Order(6)
  void aLongJobIsCancelledFromItsPage() throws Exception {
    browser.navigate(console);
    browser.await("!document.getElementById('list-view').hidden", Duration.ofSeconds(20));
    browser.eval("document.getElementById('tab-txt2img').click()");
    fill("t-steps", "200");
    browser.eval("document.getElementById('form-txt2img').requestSubmit()");
    String id = submitted("form-txt2img");
    browser.navigate(console + "/jobs/" + id);
    browser.await("!document.getElementById('cancel-job').disabled", Duration.ofSeconds(20));
    browser.eval("document.getElementById('cancel-job').click()");
    browser.await("[...document.querySelectorAll('#job-timeline li')]"
        + ".some(li => li.dataset.state === 'CANCELLED')", JOB);
  }

  @Test
  @Order(7)
  void anotherTenantSeesNoneOfTheseJobs() throws Exception {
    signIn("secret-b");
    browser.await("!document.getElementById('list-view').hidden"
        + " && !document.getElementById('jobs-empty').hidden", Duration.ofSeconds(20));
    assertThat(browser.eval("document.querySelectorAll('#jobs tbody tr').length").asInt())
        .isZero();
  }

  @Test
  @Order(8)
  void aJobPageShowsItsWebhooksDelivery() throws Exception {
    // Key "hooked" gives its jobs a default webhook_url: a receiver here that answers 204.
    signIn("secret-hooked");
    browser.await("!document.getElementById('list-view').hidden", Duration.ofSeconds(20));
    browser.eval("document.getElementById('tab-txt2img').click()");
    fill("t-prompt", "a red circle");
    fill("t-steps", "2");
    browser.eval("document.getElementById('form-txt2img').requestSubmit()");
    String id = submitted("form-txt2img");
    browser.navigate(console + "/jobs/" + id);
    browser.await("(document.querySelector('#job-params dd[data-name=\"webhook\"]') || {})"
        + ".textContent === 'DELIVERED, 1 attempt, last HTTP 204'", JOB);
  }

  @Test
  @Order(8)
  void aFailedJobShowsItsCodeAndMessage() throws Exception {
    signIn("secret-a");
    browser.await("!document.getElementById('list-view').hidden", Duration.ofSeconds(20));
    browser.eval("document.getElementById('tab-vqa').click()");
    // A PNG signature and then nothing: the API's magic check passes, the consumer cannot decode.
    browser.eval("(() => { const dt = new DataTransfer(); dt.items.add(new File([new Uint8Array("
        + "[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4])], 'broken.png',"
        + " {type: 'image/png'})); document.getElementById('v-image').files = dt.files; })()");
    browser.eval("document.getElementById('form-vqa').requestSubmit()");
    String id = submitted("form-vqa");
    browser.navigate(console + "/jobs/" + id);
    browser.await("document.querySelector('#job-error .error')", JOB);
    assertThat(browser.eval("document.querySelector('#job-error .error').textContent").asString())
        .startsWith("INVALID_IMAGE: ");
    assertThat(browser.eval("[...document.querySelectorAll('#job-timeline li')]"
        + ".map(li => li.dataset.state).pop()").asString()).isEqualTo("FAILED");
  }

  @Test
  @Order(9)
  void aDisabledKeyAndARateLimitAreShownFor403And429() throws Exception {
    signIn("secret-off");
    browser.await("document.getElementById('banner').textContent.includes('403')",
        Duration.ofSeconds(20));
    assertThat(browser.eval("document.getElementById('banner').textContent").asString())
        .contains("KEY_DISABLED");
    signIn("secret-slow");
    browser.await("!document.getElementById('list-view').hidden", Duration.ofSeconds(20));
    browser.eval("document.getElementById('tab-txt2img').click()");
    browser.eval("document.getElementById('form-txt2img').requestSubmit()");
    browser.await("document.querySelectorAll('#jobs tbody tr').length === 1", Duration.ofSeconds(20));
    browser.eval("document.getElementById('form-txt2img').requestSubmit()");
    browser.await("document.getElementById('banner').textContent.includes('429')",
        Duration.ofSeconds(20));
    assertThat(browser.eval("document.getElementById('banner').textContent").asString())
        .contains("RATE_LIMITED", "retry after");
  }

  @Test
  @Order(10)
  void everyControlHasALabelAndTheTabsWorkFromTheKeyboard() throws Exception {
    signIn("secret-a");
    browser.await("!document.getElementById('list-view').hidden", Duration.ofSeconds(20));
    assertThat(browser.eval("[...document.querySelectorAll('input, select')]"
        + ".filter(e => e.labels.length === 0).map(e => e.id).join(',')").asString())
        .as("inputs without a label").isEmpty();
    assertThat(browser.eval("[...document.querySelectorAll('button')]"
        + ".filter(b => !b.textContent.trim()).length").asInt()).isZero();
    browser.eval("document.getElementById('tab-txt2img').click(); "
        + "document.getElementById('tab-txt2img').focus()");
    // A real key press, through the browser's input pipeline.
    browser.send("Input.dispatchKeyEvent", Map.of("type", "keyDown", "key", "ArrowRight",
        "code", "ArrowRight", "windowsVirtualKeyCode", 39));
    browser.send("Input.dispatchKeyEvent", Map.of("type", "keyUp", "key", "ArrowRight",
        "code", "ArrowRight", "windowsVirtualKeyCode", 39));
    browser.await("document.activeElement.id === 'tab-vqa'"
        + " && !document.getElementById('form-vqa').hidden", Duration.ofSeconds(5));
    browser.send("Input.dispatchKeyEvent", Map.of("type", "keyDown", "key", "Tab", "code", "Tab",
        "windowsVirtualKeyCode", 9));
    browser.send("Input.dispatchKeyEvent", Map.of("type", "keyUp", "key", "Tab", "code", "Tab",
        "windowsVirtualKeyCode", 9));
    browser.await("document.activeElement.id === 'v-image'", Duration.ofSeconds(5));
  }

  @Test
  @Order(11)
  void anUnreachableStackIsShownForWhatItIs() throws Exception {
    signIn("secret-a");
    browser.await("!document.getElementById('list-view').hidden", Duration.ofSeconds(20));
    stack.close();
    stack = null;
    browser.await("document.getElementById('banner').textContent.includes('unreachable')",
        Duration.ofSeconds(20));
    shot("unreachable");
  }

  /** A Java2D scene (not the training renderer): a red circle on a grey background. */
  private static String scenePng() throws Exception {
    BufferedImage image = new BufferedImage(96, 96, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(new Color(200, 200, 195));
    g.fillRect(0, 0, 96, 96);
    g.setColor(new Color(220, 40, 40));
    g.fillOval(14, 16, 36, 36);
    g.dispose();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(image, "png", out);
    return Base64.getEncoder().encodeToString(out.toByteArray());
  }
}
