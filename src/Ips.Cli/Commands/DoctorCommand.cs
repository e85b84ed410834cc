using Ips.Native;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary><c>ips doctor</c>: can this machine run IPS, and on what?</summary>
internal sealed class DoctorCommand : Command<PlainSettings>
{
    protected override int Execute(CommandContext context, PlainSettings settings, CancellationToken cancellationToken)
    {
        TorchRuntimeInfo info;
        try
        {
            info = TorchRuntime.Describe();
        }
        catch (TorchLoadException error)
        {
            AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(error.Message)}");
            return 2;
        }

        var table = new Table().AddColumn("item").AddColumn("value");
        table.AddRow("ips", Markup.Escape(Hosting.BuildInfo.Version));
        table.AddRow("ips build", Markup.Escape(Hosting.BuildInfo.Describe()));
        table.AddRow(".NET", info.DotnetVersion);
        table.AddRow("TorchSharp", info.TorchSharpVersion);
        table.AddRow("libtorch", $"{info.LibtorchVersion} ({info.LibtorchPackage})");
        table.AddRow("allocator", ProcessAllocator.State.ToString());
        table.AddRow("OpenMP waiting", OpenMpWaitPolicy.State.ToString());
        table.AddRow("threads", info.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture));
        table.AddRow("device", "cpu");
        foreach (var (name, memory) in info.CudaDevices)
        {
            table.AddRow("device", memory > 0 ? $"{name}, {memory / (1024.0 * 1024 * 1024):F1} GiB" : name);
        }
        table.AddRow("system libstdc++ lacks GLIBCXX_3.4.32", info.SystemLacksGlibcxx ? "yes" : "no");
        table.AddRow("libLibTorchSharp.so GLIBCXX_3.4.32 need", info.FixState);
        foreach (var (encoder, source) in Ips.Encoders.PretrainedWeights.Describe())
        {
            table.AddRow($"pretrained {encoder}", Markup.Escape(source));
        }
        AnsiConsole.Write(table);
        return 0;
    }
}
