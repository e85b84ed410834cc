using System.Net;
using System.Reflection;
using System.Text.Json;
using Ips.Slides;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Ips.Viewer;

/// <summary>How much the viewer may hold.</summary>
public sealed record ViewerOptions
{
    /// <summary>Bytes of encoded JPEG tiles kept for repeated requests (least recently used dropped first).</summary>
    public long TileCacheBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Slides open at once; each reader keeps its own decoded-tile cache (16 MiB for the managed TIFF reader).</summary>
    public int OpenSlides { get; init; } = 4;

    /// <summary>Tiles rendered at once: further requests wait, so a burst of requests cannot hold a burst of regions.</summary>
    public int ConcurrentRenders { get; init; } = Math.Max(2, Environment.ProcessorCount);
}

/// <summary>The port asked for is taken by another program.</summary>
/// <param name="port">The port.</param>
/// <param name="inner">Kestrel's error.</param>
public sealed class PortInUseException(int port, Exception inner)
    : IOException($"port {port} on 127.0.0.1 is already in use; choose another with --port N, or --port 0 for any free port", inner);

/// <summary>
/// The web server of <c>ips view</c>: Kestrel on 127.0.0.1 serving the viewer page, OpenSeadragon (embedded at
/// build time), the slide list and each slide's overlays as JSON, and each slide as Deep Zoom: a DZI descriptor at
/// <c>/slides/ID.dzi</c> and JPEG tiles at <c>/slides/ID_files/LEVEL/COLUMN_ROW.jpg</c>, rendered on demand from the
/// slide's reader and kept in a bounded cache.
/// </summary>
public sealed class ViewerServer : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly WebApplication _app;
    private readonly ViewerCatalog _catalog;
    private readonly ViewerOptions _options;
    private readonly OpenSlides _slides;
    private readonly MemoryCache _tiles;
    private readonly SemaphoreSlim _renders;

    private ViewerServer(WebApplication app, ViewerCatalog catalog, ViewerOptions options)
    {
        (_app, _catalog, _options) = (app, catalog, options);
        _slides = new OpenSlides(options.OpenSlides, path => SlideOpener.Open(path));
        _tiles = new MemoryCache(new MemoryCacheOptions { SizeLimit = options.TileCacheBytes, TrackStatistics = true });
        _renders = new SemaphoreSlim(options.ConcurrentRenders);
    }

    /// <summary>The viewer's address, e.g. <c>http://127.0.0.1:5123/</c>.</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>Bytes of JPEG tiles in the cache now.</summary>
    public long CachedBytes => _tiles.GetCurrentStatistics()?.CurrentEstimatedSize ?? 0;

    /// <summary>Starts serving <paramref name="catalog"/> on 127.0.0.1:<paramref name="port"/> (0: any free port).</summary>
    /// <exception cref="PortInUseException">The port is taken.</exception>
    public static async Task<ViewerServer> StartAsync(ViewerCatalog catalog, int port, ViewerOptions? options = null, CancellationToken cancellationToken = default)
    {
        // The empty builder reads no appsettings.json or environment from wherever the user happens to be, and logs nothing.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        builder.Services.AddRoutingCore();
        // The command decides when to stop (SIGINT, SIGTERM, with its own exit codes): no console lifetime of the host's.
        builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();
        var app = builder.Build();
        var server = new ViewerServer(app, catalog, options ?? new ViewerOptions());
        server.Map(app);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (error is AddressInUseException || error.InnerException is AddressInUseException)
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw new PortInUseException(port, error);
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Address = new Uri(address.EndsWith('/') ? address : address + "/");
        return server;
    }

    /// <summary>Stops accepting requests, lets those under way finish, and closes the slides.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _slides.Dispose();
        _tiles.Dispose();
        _renders.Dispose();
    }

    private void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/", context => Asset(context, "web/index.html"));
        routes.MapGet("/viewer.js", context => Asset(context, "web/viewer.js"));
        routes.MapGet("/viewer.css", context => Asset(context, "web/viewer.css"));
        routes.MapGet("/osd/{**file}", context => Asset(context, "osd/" + (string?)context.GetRouteValue("file")));
        routes.MapGet("/api/slides", context => WriteJson(context, new
        {
            max_score = _catalog.MaxScore,
            slides = _catalog.Slides.Select(s => new { s.Id, s.Name, s.Prediction?.Probability, Error = s.Prediction?.Error }),
        }));
        routes.MapGet("/api/slides/{id:int}", context => WithSlide(context, slide => WriteJson(context, Describe(slide))));
        routes.MapGet("/api/status", context => WriteJson(context, new
        {
            tile_cache_bytes = CachedBytes,
            tile_cache_capacity_bytes = _options.TileCacheBytes,
            open_slides = _slides.Count,
            open_slides_capacity = _slides.Capacity,
        }));
        routes.MapGet("/slides/{id:int}.dzi", context => WithSlide(context, slide => WithOpenSlide(context, slide, async open =>
        {
            context.Response.ContentType = "application/xml";
            await context.Response.WriteAsync(Grid(open).Descriptor()).ConfigureAwait(false);
        })));
        routes.MapGet("/slides/{id:int}_files/{level:int}/{column:long}_{row:long}.jpg", context => WithSlide(context, slide => Tile(context, slide)));
    }

    private static DeepZoomGrid Grid(ISlide slide) => new(slide.Levels[0].Width, slide.Levels[0].Height);

    // Everything the page draws over one slide. Problems with a companion file (coordinates, annotations) are listed
    // for the page to show beside the slide; a slide that cannot be opened is an error the page shows instead of it.
    private object Describe(ViewerSlide slide)
    {
        var problems = new List<string>();
        string? error = null;
        object? image = null;
        TissueTiles? tissue = null;
        TumourOutlines? tumour = null;
        try
        {
            using var lease = _slides.Acquire(slide.Path);
            var open = lease.Slide;
            image = new { open.Levels[0].Width, open.Levels[0].Height, open.Reader, open.Vendor, Mpp = open.MicronsPerPixel?.X, Levels = open.Levels.Count };
            if (slide.CoordsPath is not null)
            {
                tissue = Companion(() => ViewerCatalog.ReadTissue(slide, open.Levels), problems);
            }
        }
        catch (Exception failure) when (IsSlideProblem(failure))
        {
            error = failure.Message;
        }
        if (slide.AnnotationsPath is not null)
        {
            tumour = Companion(() => ViewerCatalog.ReadTumour(slide), problems);
        }
        return new
        {
            slide.Id,
            slide.Name,
            slide.Path,
            Error = error,
            Image = image,
            Prediction = slide.Prediction is { } p ? new { p.Probability, p.Probabilities, p.Error, p.Selected } : null,
            Tissue = tissue,
            Tumour = tumour,
            Problems = problems,
        };
    }

    private static T? Companion<T>(Func<T> read, List<string> problems) where T : class
    {
        try
        {
            return read();
        }
        catch (Exception failure) when (IsSlideProblem(failure))
        {
            problems.Add(failure.Message);
            return null;
        }
    }

    // The errors a damaged or missing file raises in the readers: reported on the page, never a failed server.
    private static bool IsSlideProblem(Exception error) =>
        error is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException or NotSupportedException;

    private async Task Tile(HttpContext context, ViewerSlide slide)
    {
        int level = int.Parse((string)context.GetRouteValue("level")!, System.Globalization.CultureInfo.InvariantCulture);
        long column = long.Parse((string)context.GetRouteValue("column")!, System.Globalization.CultureInfo.InvariantCulture);
        long row = long.Parse((string)context.GetRouteValue("row")!, System.Globalization.CultureInfo.InvariantCulture);
        var key = (slide.Id, level, column, row);
        if (!_tiles.TryGetValue(key, out byte[]? jpeg) || jpeg is null)
        {
            await _renders.WaitAsync(context.RequestAborted).ConfigureAwait(false);
            try
            {
                jpeg = RenderTile(slide, level, column, row);
            }
            catch (Exception failure) when (IsSlideProblem(failure))
            {
                await Text(context, StatusCodes.Status404NotFound, failure.Message).ConfigureAwait(false);
                return;
            }
            finally
            {
                _renders.Release();
            }
            if (jpeg is null)
            {
                await Text(context, StatusCodes.Status404NotFound, $"slide {slide.Name} has no Deep Zoom tile {level}/{column}_{row}").ConfigureAwait(false);
                return;
            }
            _tiles.Set(key, jpeg, new MemoryCacheEntryOptions { Size = jpeg.Length });
        }
        context.Response.ContentType = "image/jpeg";
        context.Response.Headers.CacheControl = "no-cache";
        await context.Response.Body.WriteAsync(jpeg, context.RequestAborted).ConfigureAwait(false);
    }

    private byte[]? RenderTile(ViewerSlide slide, int level, long column, long row)
    {
        using var lease = _slides.Acquire(slide.Path);
        return DeepZoomRenderer.Render(lease.Slide, Grid(lease.Slide), level, column, row) is { } tile
            ? DeepZoomRenderer.EncodeJpeg(tile.Rgb, tile.Width, tile.Height)
            : null;
    }

    private Task WithSlide(HttpContext context, Func<ViewerSlide, Task> serve)
    {
        int id = int.Parse((string)context.GetRouteValue("id")!, System.Globalization.CultureInfo.InvariantCulture);
        return id >= 0 && id < _catalog.Slides.Count
            ? serve(_catalog.Slides[id])
            : Text(context, StatusCodes.Status404NotFound, $"no slide {id}; there are {_catalog.Slides.Count}");
    }

    private async Task WithOpenSlide(HttpContext context, ViewerSlide slide, Func<ISlide, Task> serve)
    {
        OpenSlides.Lease lease;
        try
        {
            lease = _slides.Acquire(slide.Path);
        }
        catch (Exception failure) when (IsSlideProblem(failure))
        {
            await Text(context, StatusCodes.Status404NotFound, failure.Message).ConfigureAwait(false);
            return;
        }
        using (lease)
        {
            await serve(lease.Slide).ConfigureAwait(false);
        }
    }

    private static async Task Asset(HttpContext context, string name)
    {
        await using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name);
        if (stream is null)
        {
            await Text(context, StatusCodes.Status404NotFound, $"no file {name}").ConfigureAwait(false);
            return;
        }
        context.Response.ContentType = Path.GetExtension(name) switch
        {
            ".html" => "text/html; charset=utf-8",
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            ".png" => "image/png",
            _ => "application/octet-stream",
        };
        await stream.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
    }

    private static Task WriteJson(HttpContext context, object value)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        return JsonSerializer.SerializeAsync(context.Response.Body, value, Json, context.RequestAborted);
    }

    private static Task Text(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(message, context.RequestAborted);
    }

    private sealed class CommandLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
