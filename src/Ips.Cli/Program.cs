using Ips.Cli.Commands;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("ips");
    config.AddCommand<DoctorCommand>("doctor")
        .WithDescription("Report the .NET, TorchSharp and libtorch versions, threads, devices and the libtorch compatibility fix.");
});
return await app.RunAsync(args);
