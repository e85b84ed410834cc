using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Ips.Tests.Data.Traffic;

/// <summary>
/// A minimal HTTP/1.1 file server on 127.0.0.1 for download tests: GET of the files it holds, <c>Range: bytes=N-</c>
/// answered with 206, and, for files marked to drop, a first response that announces the whole file but closes the
/// connection after half of it.
/// </summary>
internal sealed class LocalHttpServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<string, byte[]> _files;
    private readonly ConcurrentDictionary<string, bool> _dropOnce;
    private readonly Task _loop;

    public LocalHttpServer(Dictionary<string, byte[]> files, IEnumerable<string>? dropOnce = null)
    {
        _files = files;
        _dropOnce = new ConcurrentDictionary<string, bool>((dropOnce ?? []).Select(path => KeyValuePair.Create(path, true)));
        _listener.Start();
        _loop = Task.Run(AcceptAsync);
    }

    /// <summary>The base URL, without a trailing slash.</summary>
    public string BaseUrl => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Every request line received, e.g. <c>GET /Set1/annotations.txt bytes=10-</c>.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException)
            {
                return;
            }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        await using (var stream = client.GetStream())
        {
            var header = await ReadHeaderAsync(stream);
            var lines = header.Split("\r\n");
            var path = lines[0].Split(' ')[1];
            var range = lines.Skip(1).FirstOrDefault(l => l.StartsWith("Range:", StringComparison.OrdinalIgnoreCase))?.Split('=')[1].Trim();
            Requests.Enqueue(range is null ? $"GET {path}" : $"GET {path} bytes={range}");
            if (!_files.TryGetValue(path, out var body))
            {
                await WriteAsync(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                return;
            }
            var start = range is null ? 0 : long.Parse(range.TrimEnd('-'), CultureInfo.InvariantCulture);
            if (start >= body.Length)
            {
                await WriteAsync(stream, $"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{body.Length}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                return;
            }
            var status = range is null ? "200 OK" : "206 Partial Content";
            var contentRange = range is null ? "" : $"Content-Range: bytes {start}-{body.Length - 1}/{body.Length}\r\n";
            await WriteAsync(stream, $"HTTP/1.1 {status}\r\nContent-Length: {body.Length - start}\r\n{contentRange}Accept-Ranges: bytes\r\nConnection: close\r\n\r\n");
            var end = body.Length;
            if (_dropOnce.TryRemove(path, out _))
            {
                end = (int)start + (body.Length - (int)start) / 2;
            }
            await stream.WriteAsync(body.AsMemory((int)start, end - (int)start));
            await stream.FlushAsync();
            if (end < body.Length)
            {
                client.Client.LingerState = new LingerOption(true, 0); // reset: the client sees the connection drop
            }
        }
    }

    private static async Task<string> ReadHeaderAsync(NetworkStream stream)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (!(bytes.Count >= 4 && bytes[^4] == '\r' && bytes[^3] == '\n' && bytes[^2] == '\r' && bytes[^1] == '\n'))
        {
            if (await stream.ReadAsync(one) == 0)
            {
                break;
            }
            bytes.Add(one[0]);
        }
        return Encoding.ASCII.GetString([.. bytes]);
    }

    private static Task WriteAsync(NetworkStream stream, string text) => stream.WriteAsync(Encoding.ASCII.GetBytes(text)).AsTask();

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The accept loop ends with the listener; nothing to report.
        }
        _stop.Dispose();
    }
}
