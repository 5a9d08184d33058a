using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using MoR.IO;

namespace MoR.Cli;

/// <summary>
/// <c>mor inspect FILE|DIR</c>: what a safetensors file, an adapter folder or a model folder holds —
/// tensors with dtypes and shapes, parameter counts, metadata, and the JSON configs beside them.
/// </summary>
internal static class InspectCommand
{
    private static readonly string[] ConfigFiles = ["adapter_config.json", "config.json", "training_config.json", "trainer_state.json"];

    public static Command Create(CliConsole console)
    {
        var path = new Argument<string>("path") { Description = "A .safetensors file, or a folder (adapter, model, checkpoint)" };
        Option<bool> json = CommonOptions.Json();
        var command = new Command("inspect", "Summarise a safetensors file or an adapter/model/checkpoint folder") { path, json };
        command.SetAction(parse => Run(console, parse.GetValue(path)!, parse.GetValue(json)));
        return command;
    }

    private static int Run(CliConsole console, string path, bool json)
    {
        List<string> files;
        var configs = new List<string>();
        if (File.Exists(path))
        {
            files = [path];
        }
        else if (Directory.Exists(path))
        {
            files = [.. Directory.EnumerateFiles(path, "*.safetensors").Order(StringComparer.Ordinal)];
            configs = [.. ConfigFiles.Select(f => Path.Combine(path, f)).Where(File.Exists)];
            if (files.Count == 0 && configs.Count == 0)
            {
                throw new InvalidDataException($"'{path}' holds no .safetensors file and no known config.");
            }
        }
        else
        {
            throw new UsageException($"'{path}' does not exist.");
        }

        var report = new JsonObject { ["path"] = Path.GetFullPath(path) };
        var fileArray = new JsonArray();
        foreach (string file in files)
        {
            using SafeTensorsReader reader = SafeTensorsReader.Open(file);
            var tensors = new JsonArray();
            foreach (TensorInfo t in reader.Tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
            {
                tensors.Add(new JsonObject { ["name"] = t.Name, ["dtype"] = t.DType.ToString(), ["shape"] = new JsonArray([.. t.Shape.Select(d => (JsonNode)d)]) });
            }

            var metadata = new JsonObject();
            foreach ((string k, string v) in reader.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                metadata[k] = v;
            }

            fileArray.Add(new JsonObject
            {
                ["file"] = Path.GetFileName(file),
                ["bytes"] = reader.FileLength,
                ["tensor_count"] = reader.Tensors.Count,
                ["parameters"] = reader.Tensors.Sum(t => t.ElementCount),
                ["dtypes"] = string.Join(", ", reader.Tensors.GroupBy(t => t.DType).OrderBy(g => g.Key.ToString(), StringComparer.Ordinal).Select(g => $"{g.Key} x{g.Count()}")),
                ["metadata"] = metadata,
                ["tensors"] = tensors,
            });
        }

        report["files"] = fileArray;
        var configObject = new JsonObject();
        foreach (string config in configs)
        {
            // Strict, as every reader of these files: a syntax error names the file, line and byte.
            configObject[Path.GetFileName(config)] = JsonFile.ParseNode(config);
        }

        report["configs"] = configObject;
        if (json)
        {
            console.Out.WriteLine(report.ToJsonString());
            return ExitCodes.Ok;
        }

        TextWriter o = console.Out;
        o.WriteLine(report["path"]!.GetValue<string>());
        foreach (JsonNode? f in fileArray)
        {
            o.WriteLine($"{f!["file"]}: {f["tensor_count"]} tensors, {f["parameters"]:N0} values, {f["bytes"]} bytes; dtypes {f["dtypes"]}");
            foreach ((string k, JsonNode? v) in f["metadata"]!.AsObject())
            {
                o.WriteLine($"  metadata {k} = {v}");
            }

            foreach (JsonNode? t in f["tensors"]!.AsArray())
            {
                o.WriteLine($"  {t!["name"],-64} {t["dtype"],-5} [{string.Join(", ", t["shape"]!.AsArray().Select(d => d!.ToString()))}]");
            }
        }

        foreach ((string name, JsonNode? node) in configObject)
        {
            o.WriteLine($"{name}:");
            o.WriteLine(node!.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }

        return ExitCodes.Ok;
    }
}
