using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Ips.Tests.Cli;
using Ips.Tests.Slides;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Interactions;
using OpenQA.Selenium.Support.UI;
using Xunit.Abstractions;

namespace Ips.Tests.Viewer;

/// <summary>
/// <c>ips view</c> as a user meets it: the built program serving a generated slide and its predictions, and the
/// Debian Chromium (headless, through chromium-driver) loading the page, drawing the overlays and zooming in.
/// </summary>
public sealed partial class ViewerBrowserTests(GeneratedSlides slides, ITestOutputHelper output) : IClassFixture<GeneratedSlides>
{
    private const int WindowWidth = 1000, WindowHeight = 800;

    [Fact]
    public void The_page_shows_the_slide_with_the_selected_tiles_over_it_and_zooms_to_one_on_click()
    {
        using var folder = new TempFiles();
        ViewerFixtures.WritePredictions(folder.File("predictions.json"), (slides.Jpeg, 0.875f));
        using var ips = CliProcess.Start(folder.Root, "view", slides.Jpeg, "--predictions", folder.File("predictions.json"), "--port", "0", "--no-browser");
        var address = Address(ips);
        using var browser = StartChromium();

        browser.Navigate().GoToUrl(address);
        WaitSettled(browser);
        Assert.Contains("jpeg", browser.FindElement(By.Id("slide-name")).Text);
        Assert.Contains("p = 0.875", browser.FindElement(By.Id("slide-probability")).Text);

        var withOverlays = Screenshot(browser);
        browser.FindElement(By.Id("layer-heat")).Click();
        browser.FindElement(By.Id("layer-selected")).Click();
        var slideOnly = Screenshot(browser);

        // The slide itself: white background and stained tissue, not a blank page.
        var viewer = ViewerRectangle(browser);
        int tissue = 0, background = 0, total = 0;
        for (int y = viewer.Top + 5; y < viewer.Bottom - 5; y += 4)
        {
            for (int x = viewer.Left + 5; x < viewer.Right - 5; x += 4)
            {
                var (r, g, b) = slideOnly.Pixel(x, y);
                total++;
                if (r > 235 && g > 235 && b > 235) background++;
                else if (r - g > 30) tissue++;
            }
        }
        output.WriteLine($"viewer pixels sampled: {total}, background {background}, tissue {tissue}");
        Assert.True(tissue > total / 20, $"only {tissue} of {total} sampled pixels look like stained tissue");
        Assert.True(background > total / 20, $"only {background} of {total} sampled pixels are background");

        // Overlay pixels at every selected tile, none where no tile is.
        foreach (var (index, _) in ViewerFixtures.Selected)
        {
            var box = ViewerFixtures.Box(index);
            var (x, y) = ToPage(browser, box.X + box.Width / 2.0, box.Y + box.Height / 2.0);
            int change = Change(withOverlays.Pixel(x, y), slideOnly.Pixel(x, y));
            Assert.True(change > 60, $"tile {index} at page ({x}, {y}): overlay changes the pixel by only {change}");
        }
        var (freeX, freeY) = ToPage(browser, 1920, 1400);
        Assert.True(Change(withOverlays.Pixel(freeX, freeY), slideOnly.Pixel(freeX, freeY)) < 10, "a pixel far from every selected tile changed");

        Assert.Empty(ConsoleErrors(browser));

        // Hover names the tile; a click zooms to it, which fetches full-resolution (level 11) tiles.
        browser.FindElement(By.Id("layer-selected")).Click();
        var top = ViewerFixtures.Box(ViewerFixtures.Selected[0].Index);
        var (topX, topY) = ToPage(browser, top.X + 128, top.Y + 128);
        new Actions(browser).MoveToLocation(topX, topY).Perform();
        Wait(browser, "the tooltip", b => b.FindElement(By.Id("tooltip")).Displayed);
        Assert.StartsWith("rank 1, score 0.5", browser.FindElement(By.Id("tooltip")).Text);
        Assert.Empty(Resources(browser, "/slides/0_files/11/"));

        new Actions(browser).MoveToLocation(topX, topY).Click().Perform();
        WaitSettled(browser);

        var fullResolution = Resources(browser, "/slides/0_files/11/");
        output.WriteLine($"level-11 tiles fetched after the zoom: {string.Join(", ", fullResolution)}");
        Assert.Contains(fullResolution, url => url.EndsWith($"/11/{top.X / 256}_{top.Y / 256}.jpg", StringComparison.Ordinal));
        var bounds = (IReadOnlyCollection<object>)((IJavaScriptExecutor)browser).ExecuteScript(
            "const v = ipsViewer.viewer.viewport; const r = v.viewportToImageRectangle(v.getBounds()); return [r.x, r.y, r.width, r.height];")!;
        var view = bounds.Select(Convert.ToDouble).ToArray();
        output.WriteLine($"view after the click: x {view[0]:F0}, y {view[1]:F0}, {view[2]:F0} x {view[3]:F0}");
        Assert.InRange(view[2], 255, 512);
        Assert.True(view[0] <= top.X && view[1] <= top.Y && view[0] + view[2] >= top.X + 256 && view[1] + view[3] >= top.Y + 256,
            "the view does not hold the clicked tile");
        Assert.Empty(ConsoleErrors(browser));

        ips.Signal("TERM");
        Assert.Equal(143, ips.WaitForExit());
        Assert.Contains("ips view: stopped", ips.Text);
    }

    [Fact]
    public void The_list_sorts_by_probability_and_a_damaged_slide_shows_its_error_while_the_others_open()
    {
        using var folder = new TempFiles();
        Directory.CreateDirectory(folder.File("slides"));
        File.Copy(slides.Jpeg, folder.File("slides/a_good.tif"));
        File.Copy(slides.Jpeg, folder.File("slides/c_good.tif"));
        var bytes = File.ReadAllBytes(slides.Jpeg);
        File.WriteAllBytes(folder.File("slides/b_damaged.tif"), bytes[..(bytes.Length / 50)]);
        ViewerFixtures.WritePredictions(folder.File("predictions.json"), (folder.File("slides/a_good.tif"), 0.25f), (folder.File("slides/c_good.tif"), 0.75f));
        using var ips = CliProcess.Start(folder.Root, "view", folder.File("slides"), "--predictions", folder.File("predictions.json"), "--port", "0", "--no-browser");
        var address = Address(ips);
        using var browser = StartChromium();

        browser.Navigate().GoToUrl(address + "#1");
        Wait(browser, "the slide list", b => b.FindElements(By.CssSelector("#slides tbody tr")).Count == 3);
        AssertRows(browser, ["a_good 0.250", "b_damaged", "c_good 0.750"]);
        browser.FindElement(By.CssSelector("#slides th[data-key='probability']")).Click();
        AssertRows(browser, ["c_good 0.750", "a_good 0.250", "b_damaged"]);
        browser.FindElement(By.CssSelector("#slides th[data-key='probability']")).Click();
        AssertRows(browser, ["b_damaged", "a_good 0.250", "c_good 0.750"]);

        Wait(browser, "the error message", b => b.FindElement(By.Id("message")).Displayed);
        Assert.Contains("b_damaged.tif", browser.FindElement(By.Id("message")).Text);

        browser.FindElement(By.CssSelector("#slides tr[data-id='0']")).Click();
        WaitSettled(browser);
        Assert.False(browser.FindElement(By.Id("message")).Displayed);

        ips.Signal("INT");
        Assert.Equal(130, ips.WaitForExit());
    }

    [Fact]
    public void A_port_in_use_is_one_line_and_exit_64()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        using var folder = new TempFiles();

        var (code, text) = CliProcess.Run(folder.Root, "view", slides.Jpeg, "--port", port.ToString(CultureInfo.InvariantCulture), "--no-browser");

        Assert.Equal(64, code);
        Assert.Equal($"error: port {port} on 127.0.0.1 is already in use; choose another with --port N, or --port 0 for any free port", text.Trim());
    }

    [Fact]
    public void A_missing_slide_is_exit_66()
    {
        using var folder = new TempFiles();

        var (code, text) = CliProcess.Run(folder.Root, "view", folder.File("absent.tif"), "--no-browser");

        Assert.Equal(66, code);
        Assert.Contains("absent.tif", text);
        Assert.DoesNotContain(" at ", text);
    }

    private static string Address(CliProcess ips)
    {
        ips.WaitForLine("ips view:");
        return AddressPattern().Match(ips.Output).Value;
    }

    private static ChromeDriver StartChromium()
    {
        var service = ChromeDriverService.CreateDefaultService("/usr/bin", "chromedriver");
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = "/usr/bin/chromium" };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            $"--window-size={WindowWidth},{WindowHeight}", "--force-device-scale-factor=1");
        options.SetLoggingPreference(LogType.Browser, LogLevel.All);
        return new ChromeDriver(service, options, TimeSpan.FromMinutes(2));
    }

    // The rows' texts read in one script: the list re-renders when a slide's state arrives, and a row element found
    // before that is stale by the time its text is read.
    private static List<string> Rows(IWebDriver browser) =>
        [.. ((IReadOnlyCollection<object>)((IJavaScriptExecutor)browser).ExecuteScript(
            "return [...document.querySelectorAll('#slides tbody tr')].map(r => r.innerText.replace(/\\s+/g, ' ').trim());")!).Cast<string>()];

    // The list in the expected order once it has settled (two minutes at most, like every wait here).
    private static void AssertRows(IWebDriver browser, string[] expected)
    {
        try
        {
            Wait(browser, "the list in order " + string.Join(", ", expected), b => Rows(b).SequenceEqual(expected));
        }
        catch (WebDriverTimeoutException)
        {
            Assert.Equal(expected, Rows(browser));
        }
    }

    private static void WaitSettled(IWebDriver browser) => Wait(browser, "the view to load and settle",
        b => (bool?)((IJavaScriptExecutor)b).ExecuteScript("return !!(window.ipsViewer && ipsViewer.settled());") == true);

    private static void Wait(IWebDriver browser, string what, Func<IWebDriver, bool> condition)
    {
        var wait = new WebDriverWait(browser, TimeSpan.FromMinutes(2)) { Message = $"waited for {what}" };
        wait.IgnoreExceptionTypes(typeof(NoSuchElementException));
        wait.Until(condition);
    }

    private static List<string> ConsoleErrors(IWebDriver browser) =>
        [.. browser.Manage().Logs.GetLog(LogType.Browser).Where(e => e.Level >= LogLevel.Severe).Select(e => e.Message)];

    private static List<string> Resources(IWebDriver browser, string part) =>
        [.. ((IReadOnlyCollection<object>)((IJavaScriptExecutor)browser).ExecuteScript(
            "return performance.getEntriesByType('resource').map(e => e.name);")!).Cast<string>().Where(n => n.Contains(part, StringComparison.Ordinal))];

    private static (int Left, int Top, int Right, int Bottom) ViewerRectangle(IWebDriver browser)
    {
        var r = ((IReadOnlyCollection<object>)((IJavaScriptExecutor)browser).ExecuteScript(
            "const r = document.getElementById('viewer').getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom];")!)
            .Select(Convert.ToDouble).ToArray();
        return ((int)r[0], (int)r[1], (int)r[2], (int)r[3]);
    }

    // Level-0 image coordinates to page (and screenshot) pixels, through OpenSeadragon's own mapping.
    private static (int X, int Y) ToPage(IWebDriver browser, double x, double y)
    {
        var p = ((IReadOnlyCollection<object>)((IJavaScriptExecutor)browser).ExecuteScript(
            "const p = ipsViewer.viewer.viewport.imageToViewerElementCoordinates(new OpenSeadragon.Point(arguments[0], arguments[1]));" +
            "const r = document.getElementById('viewer').getBoundingClientRect(); return [r.left + p.x, r.top + p.y];", x, y)!)
            .Select(Convert.ToDouble).ToArray();
        return ((int)Math.Round(p[0]), (int)Math.Round(p[1]));
    }

    private static int Change((int R, int G, int B) a, (int R, int G, int B) b) => Math.Abs(a.R - b.R) + Math.Abs(a.G - b.G) + Math.Abs(a.B - b.B);

    private static Picture Screenshot(IWebDriver browser)
    {
        // Two frames for the overlay canvas to be redrawn after a layer was switched.
        ((IJavaScriptExecutor)browser).ExecuteAsyncScript("const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(done));");
        var (rgb, width, _) = ViewerFixtures.Decode(((ITakesScreenshot)browser).GetScreenshot().AsByteArray);
        return new Picture(rgb, width);
    }

    private sealed record Picture(byte[] Rgb, int Width)
    {
        public (int R, int G, int B) Pixel(int x, int y) => (Rgb[(y * Width + x) * 3], Rgb[(y * Width + x) * 3 + 1], Rgb[(y * Width + x) * 3 + 2]);
    }

    [GeneratedRegex(@"http://127\.0\.0\.1:\d+/")]
    private static partial Regex AddressPattern();
}
