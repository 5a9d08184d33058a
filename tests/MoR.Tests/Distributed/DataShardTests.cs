using MoR.Distributed;

namespace MoR.Tests.Distributed;

public sealed class DataShardTests
{
    [Fact]
    public void ShardsAreDisjointAndInterleaveBackToTheSingleRankOrder()
    {
        const int ranks = 3;
        long[] all = Enumerable.Range(0, 10).Select(i => (long)i).ToArray();
        long[][] shards = Enumerable.Range(0, ranks).Select(r => new DataShard(r, ranks).Select(all).ToArray()).ToArray();

        // 10 micro-batches, 3 ranks: 3 whole rounds; the 10th is dropped on every rank.
        Assert.All(shards, s => Assert.Equal(3, s.Length));
        Assert.Equal([0, 3, 6], shards[0]);
        Assert.Equal([1, 4, 7], shards[1]);
        Assert.Equal([2, 5, 8], shards[2]);
        long[] interleaved = Enumerable.Range(0, 3).SelectMany(step => shards.Select(s => s[step])).ToArray();
        Assert.Equal(all.Take(9), interleaved);
        Assert.Equal(3, new DataShard(2, ranks).CountPerRank(10));
    }

    [Fact]
    public void OwnershipAndGlobalIndexAgreeWithSelect()
    {
        var shard = new DataShard(1, 4);
        Assert.True(shard.Owns(5));
        Assert.False(shard.Owns(6));
        Assert.Equal(9, shard.GlobalIndex(2));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => shard.GlobalIndex(i)), shard.Select(Enumerable.Range(0, 20).Select(i => (long)i)));
    }

    [Fact]
    public void SelectIsLazyOnUnboundedStreams()
    {
        static IEnumerable<int> Forever()
        {
            for (int i = 0; ; i++)
            {
                yield return i;
            }
        }

        Assert.Equal([1, 3, 5], new DataShard(1, 2).Select(Forever()).Take(3));
    }

    [Fact]
    public void OneRankTakesEverything()
    {
        Assert.Equal([0, 1, 2], new DataShard(0, 1).Select(new[] { 0, 1, 2 }));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(2, 2)]
    [InlineData(-1, 2)]
    public void RejectsRanksOutsideTheJob(int rank, int size) =>
        Assert.ThrowsAny<ArgumentOutOfRangeException>(() => new DataShard(rank, size));
}
