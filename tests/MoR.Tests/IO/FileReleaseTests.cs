using MoR.Adapters;
using MoR.Model;
using MoR.Tests.Model;
using MoR.Tests.Training;
using MoR.Tests.Adapters;
using MoR.Training;

namespace MoR.Tests.IO;

/// <summary>
/// Loading maps safetensors files; every load must unmap and close them before it returns. Windows cannot delete
/// or replace a file that a process still maps, and training deletes old checkpoints and replaces outputs while
/// the model lives on (docs/WINDOWS.md). Here a file still held open would refuse an exclusive open: .NET takes
/// an advisory lock per open file on Linux too, so this runs on every platform.
/// </summary>
public sealed class FileReleaseTests
{
    [Fact]
    public void Model_adapter_and_checkpoint_loads_release_their_files_while_the_objects_live_on()
    {
        using TinyCheckpoint ckpt = TinyCheckpoint.Create(TinyCheckpoint.TinyConfig());
        using var dir = new TempDirectory();
        using LlamaModel model = LlamaModel.Load(ckpt.Directory, Device.Cpu);
        AssertReleased(Directory.GetFiles(ckpt.Directory, "*.safetensors"));

        AdapterInjector.Attach(model, TestAdapters.Config("lora", rank: 2, alpha: 4), seed: 3);
        var options = new TrainingOptions { Adapter = TestAdapters.Config("lora", rank: 2, alpha: 4), MaxSteps = 2, SaveEvery = 1, MicroBatchSize = 2, SequenceLength = 8 };
        string checkpoints = dir.File("checkpoints");
        using (var trainer = new Trainer(new LlamaTrainingModel(model), options, TinyData.Rows(6, 8, 1), checkpointDirectory: checkpoints))
        {
            trainer.Run();
        }

        AdapterFolder.Save(dir.File("adapter"), model, ckpt.Directory);
        using LlamaModel fresh = LlamaModel.Load(ckpt.Directory, Device.Cpu);
        AdapterFolder.Load(dir.File("adapter"), fresh);  // attaches the same LoRA modules the checkpoints hold
        AssertReleased(Directory.GetFiles(dir.File("adapter"), "*.safetensors"));

        using var resumed = new Trainer(new LlamaTrainingModel(fresh), options with { MaxSteps = 4 }, TinyData.Rows(6, 8, 1), checkpointDirectory: checkpoints);
        string from = resumed.Resume(checkpoints);
        Assert.EndsWith("checkpoint-00000002", from, StringComparison.Ordinal);
        AssertReleased(Directory.GetFiles(from, "*.safetensors"));

        // What Windows needs the release for: the resumed run deletes the checkpoint it read once two newer ones exist
        // (deletion errors are swallowed there, so a file still mapped would leave the folder behind).
        resumed.Run();
        Assert.Equal(["checkpoint-00000003", "checkpoint-00000004"], Directory.GetDirectories(checkpoints).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    private static void AssertReleased(string[] files)
    {
        Assert.NotEmpty(files);
        foreach (string file in files)
        {
            // Throws IOException ("being used by another process") while any handle to the file is open.
            using var exclusive = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            Assert.True(exclusive.Length > 8, file);
        }
    }
}
