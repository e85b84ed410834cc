using System.Net;
using System.Text.Json;
using Ips.Slides;
using Ips.Slides.Annotations;
using Ips.Slides.Tiling;
using Ips.Tests.Slides;
using Ips.Viewer;

namespace Ips.Tests.Viewer;

public sealed class ViewerServerTests(GeneratedSlides slides) : IClassFixture<GeneratedSlides>
{
    // Deep Zoom level 11 is the full resolution of the 2048 x 1536 slide; 10, 9 and 8 are its levels 1, 2 and 3.
    [Theory]
    [InlineData(11, 0, 0, 0)]
    [InlineData(11, 3, 2, 0)]
    [InlineData(10, 1, 1, 1)]
    [InlineData(9, 1, 0, 2)]
    [InlineData(8, 0, 0, 3)]
    public async Task Deep_zoom_tiles_equal_the_readers_regions(int level, int column, int row, int slideLevel)
    {
        await using var server = await ViewerServer.StartAsync(ViewerCatalog.Open(slides.Jpeg, null, null, null), 0);
        using var http = new HttpClient { BaseAddress = server.Address };
        using var slide = SlideOpener.Open(slides.Jpeg);
        long scale = 1L << (11 - level);
        var (width, height) = new DeepZoomGrid(2048, 1536).LevelSize(level);
        int tileWidth = (int)Math.Min(256, width - column * 256), tileHeight = (int)Math.Min(256, height - row * 256);

        var (rgb, w, h) = ViewerFixtures.Decode(await http.GetByteArrayAsync($"slides/0_files/{level}/{column}_{row}.jpg"));

        Assert.Equal((tileWidth, tileHeight), (w, h));
        var expected = slide.ReadRegion(slideLevel, column * 256 * scale, row * 256 * scale, tileWidth, tileHeight);
        var (mean, max) = ViewerFixtures.Difference(expected, rgb);
        Assert.True(mean < 2.5 && max < 64, $"JPEG tile differs from the reader's region by {mean:F2} on average, {max} at most");
    }

    [Fact]
    public async Task A_tile_far_below_the_smallest_level_averages_the_finer_pixels()
    {
        await using var server = await ViewerServer.StartAsync(ViewerCatalog.Open(slides.Jpeg, null, null, null), 0);
        using var http = new HttpClient { BaseAddress = server.Address };
        using var slide = SlideOpener.Open(slides.Jpeg);

        // Level 5 is 32 x 24: 64 level-0 pixels per pixel, 8 of the smallest level's (downsample 8).
        var (rgb, w, h) = ViewerFixtures.Decode(await http.GetByteArrayAsync("slides/0_files/5/0_0.jpg"));

        Assert.Equal((32, 24), (w, h));
        var fine = slide.ReadRegion(3, 0, 0, 256, 192);
        var expected = new byte[32 * 24 * 3];
        for (int y = 0; y < 24; y++)
        {
            for (int x = 0; x < 32; x++)
            {
                for (int c = 0; c < 3; c++)
                {
                    int sum = 0;
                    for (int j = 0; j < 8; j++)
                    {
                        for (int i = 0; i < 8; i++)
                        {
                            sum += fine[((8 * y + j) * 256 + 8 * x + i) * 3 + c];
                        }
                    }
                    expected[(y * 32 + x) * 3 + c] = (byte)(sum / 64);
                }
            }
        }
        var (mean, _) = ViewerFixtures.Difference(expected, rgb);
        Assert.True(mean < 6, $"the overview tile differs from the 8 x 8 averages by {mean:F2} on average");
    }

    [Fact]
    public async Task Two_hundred_concurrent_tile_requests_are_answered_within_the_cache_bound()
    {
        var options = new ViewerOptions { TileCacheBytes = 256 * 1024, ConcurrentRenders = 2 };
        await using var server = await ViewerServer.StartAsync(ViewerCatalog.Open(slides.Jpeg, null, null, null), 0, options);
        using var http = new HttpClient { BaseAddress = server.Address };
        // Every tile of levels 11, 10 and 9 (48 + 12 + 4), over and over: 200 requests, many for the same tile at once.
        var grid = new DeepZoomGrid(2048, 1536);
        var tiles = new List<string>();
        foreach (int level in new[] { 11, 10, 9 })
        {
            var (width, height) = grid.LevelSize(level);
            for (long row = 0; row * 256 < height; row++)
            {
                for (long column = 0; column * 256 < width; column++)
                {
                    tiles.Add($"slides/0_files/{level}/{column}_{row}.jpg");
                }
            }
        }
        var requests = Enumerable.Repeat(tiles, 4).SelectMany(t => t).Take(200).ToList();
        Assert.Equal(200, requests.Count);

        var responses = await Task.WhenAll(requests.Select(url => http.GetAsync(url)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.All(responses, r => Assert.Equal("image/jpeg", r.Content.Headers.ContentType?.MediaType));
        Assert.InRange(server.CachedBytes, 1, options.TileCacheBytes);
        using var status = JsonDocument.Parse(await http.GetStringAsync("api/status"));
        Assert.InRange(status.RootElement.GetProperty("tile_cache_bytes").GetInt64(), 1, options.TileCacheBytes);
        Assert.Equal(1, status.RootElement.GetProperty("open_slides").GetInt32());
    }

    [Fact]
    public async Task A_damaged_slide_is_reported_for_that_slide_while_the_others_are_served()
    {
        using var folder = new TempFiles();
        File.Copy(slides.Jpeg, folder.File("a_good.tif"));
        var bytes = File.ReadAllBytes(slides.Jpeg);
        File.WriteAllBytes(folder.File("b_damaged.tif"), bytes[..(bytes.Length / 50)]);
        File.WriteAllText(folder.File("c_not_a_slide.tif"), "plain text, not a TIFF");
        await using var server = await ViewerServer.StartAsync(ViewerCatalog.Open(folder.Root, null, null, null), 0);
        using var http = new HttpClient { BaseAddress = server.Address };

        foreach (var (id, name) in new[] { (1, "b_damaged.tif"), (2, "c_not_a_slide.tif") })
        {
            using var detail = JsonDocument.Parse(await http.GetStringAsync($"api/slides/{id}"));
            Assert.Contains(name, detail.RootElement.GetProperty("error").GetString());
            var dzi = await http.GetAsync($"slides/{id}.dzi");
            Assert.Equal(HttpStatusCode.NotFound, dzi.StatusCode);
            Assert.Contains(name, await dzi.Content.ReadAsStringAsync());
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"slides/{id}_files/11/0_0.jpg")).StatusCode);
        }
        using var good = JsonDocument.Parse(await http.GetStringAsync("api/slides/0"));
        Assert.False(good.RootElement.TryGetProperty("error", out _));
        Assert.Equal(2048, good.RootElement.GetProperty("image").GetProperty("width").GetInt64());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("slides/0_files/11/1_1.jpg")).StatusCode);
    }

    [Fact]
    public async Task The_slide_list_and_detail_carry_the_predictions_ranked_by_score()
    {
        using var folder = new TempFiles();
        ViewerFixtures.WritePredictions(folder.File("predictions.json"), (slides.Jpeg, 0.875f));
        await using var server = await ViewerServer.StartAsync(ViewerCatalog.Open(slides.Jpeg, folder.File("predictions.json"), null, null), 0);
        using var http = new HttpClient { BaseAddress = server.Address };

        using var list = JsonDocument.Parse(await http.GetStringAsync("api/slides"));
        using var detail = JsonDocument.Parse(await http.GetStringAsync("api/slides/0"));

        Assert.Equal(0.5f, list.RootElement.GetProperty("max_score").GetSingle());
        Assert.Equal(0.875f, list.RootElement.GetProperty("slides")[0].GetProperty("probability").GetSingle());
        var selected = detail.RootElement.GetProperty("prediction").GetProperty("selected").EnumerateArray().ToList();
        Assert.Equal([1, 2, 3], selected.Select(s => s.GetProperty("rank").GetInt32()));
        Assert.Equal(ViewerFixtures.Selected.Select(s => s.Index), selected.Select(s => s.GetProperty("index").GetInt64()));
        Assert.Equal(ViewerFixtures.Box(20).X, selected[1].GetProperty("x").GetInt64());
        Assert.Equal(ViewerFixtures.Box(20).Y, selected[1].GetProperty("y").GetInt64());
    }

    [Fact]
    public async Task Tissue_tiles_and_tumour_outlines_come_from_the_files_named_after_the_slide()
    {
        using var folder = new TempFiles();
        Directory.CreateDirectory(folder.File("coords"));
        Directory.CreateDirectory(folder.File("annotations"));
        using (var slide = SlideOpener.Open(slides.Jpeg))
        {
            var options = new TilingOptions { Level = 1, TileSize = 128 };
            var tiles = SlideTiler.Tile(slide, options, SlideTiler.Threshold(slide, 1));
            TileCoordsFile.Write(folder.File("coords/jpeg.h5"), "jpeg", tiles, options, slide);
        }
        AsapAnnotations.Write(folder.File("annotations/jpeg.xml"), [new AnnotationPolygon("t", [100, 400, 400], [200, 200, 600])]);
        var coords = TileCoordsFile.Read(folder.File("coords/jpeg.h5"));
        await using var server = await ViewerServer.StartAsync(
            ViewerCatalog.Open(slides.Jpeg, null, folder.File("coords"), folder.File("annotations")), 0);
        using var http = new HttpClient { BaseAddress = server.Address };

        using var detail = JsonDocument.Parse(await http.GetStringAsync("api/slides/0"));

        var tissue = detail.RootElement.GetProperty("tissue");
        Assert.Equal(256, tissue.GetProperty("size").GetDouble());
        var corners = tissue.GetProperty("corners").EnumerateArray().Select(c => c.GetInt32()).ToList();
        Assert.True(coords.Count > 0);
        Assert.Equal(Enumerable.Range(0, coords.Count).SelectMany(i => new[] { coords.Coords[i, 0], coords.Coords[i, 1] }), corners);
        var polygon = detail.RootElement.GetProperty("tumour").GetProperty("tumour")[0].EnumerateArray().Select(v => v.GetDouble());
        Assert.Equal([100.0, 200, 400, 200, 400, 600], polygon);
        Assert.Empty(detail.RootElement.GetProperty("problems").EnumerateArray());
    }

    [Fact]
    public async Task A_damaged_coordinates_file_is_named_while_the_slide_is_still_served()
    {
        using var folder = new TempFiles();
        Directory.CreateDirectory(folder.File("coords"));
        File.WriteAllText(folder.File("coords/jpeg.h5"), "not HDF5");
        await using var server = await ViewerServer.StartAsync(ViewerCatalog.Open(slides.Jpeg, null, folder.File("coords"), null), 0);
        using var http = new HttpClient { BaseAddress = server.Address };

        using var detail = JsonDocument.Parse(await http.GetStringAsync("api/slides/0"));

        Assert.Contains("jpeg.h5", Assert.Single(detail.RootElement.GetProperty("problems").EnumerateArray()).GetString());
        Assert.False(detail.RootElement.TryGetProperty("error", out _));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("slides/0.dzi")).StatusCode);
    }

    [Fact]
    public void Predictions_that_are_not_the_json_of_predict_name_the_file()
    {
        using var folder = new TempFiles();
        File.WriteAllText(folder.File("p.json"), """{"input": "x"}""");

        var error = Assert.Throws<InvalidDataException>(() => SlidePrediction.Read(folder.File("p.json")));

        Assert.Contains("p.json", error.Message);
        Assert.Contains("array", error.Message);
    }
}
