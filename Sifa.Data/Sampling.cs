namespace Sifa.Data;

/// <summary>
/// Frame-index sampling as in mmaction2's <c>SampleFrames</c>, as pure functions of the frame count
/// (and a random source in training). Indices are 0-based; indices past the end wrap around (loop).
/// </summary>
public static class FrameSampling
{
    /// <summary>
    /// Start offsets of <paramref name="numClips"/> clips that each span
    /// <paramref name="clipLength"/> * <paramref name="frameInterval"/> frames. Training: the video is
    /// cut into <paramref name="numClips"/> equal parts and each clip starts at a random frame of its
    /// part (short videos: sorted random starts, or evenly spread). Testing: clips start evenly
    /// spaced, each at the centre of its part.
    /// </summary>
    /// <param name="numFrames">Frames in the video.</param>
    /// <param name="clipLength">Frames per clip.</param>
    /// <param name="frameInterval">Step between sampled frames of a clip.</param>
    /// <param name="numClips">Number of clips.</param>
    /// <param name="training">Random offsets (true) or centred deterministic ones (false).</param>
    /// <param name="rng">Random source (training only; may be null at test time).</param>
    /// <returns>The start frame of each clip.</returns>
    public static int[] ClipOffsets(int numFrames, int clipLength, int frameInterval, int numClips, bool training, Random? rng)
    {
        Check(numFrames, clipLength, frameInterval, numClips);
        int span = clipLength * frameInterval;
        var offsets = new int[numClips];
        if (training)
        {
            if (rng == null) throw new ArgumentNullException(nameof(rng), "training sampling needs a random source");
            int avg = (numFrames - span + 1) / numClips;
            if (avg > 0)
            {
                for (int i = 0; i < numClips; i++) offsets[i] = i * avg + rng.Next(avg);
            }
            else if (numFrames > Math.Max(numClips, span))
            {
                for (int i = 0; i < numClips; i++) offsets[i] = rng.Next(numFrames - span + 1);
                Array.Sort(offsets);
            }
            else if (avg == 0 && numFrames - span + 1 >= 0)
            {
                double ratio = (numFrames - span + 1.0) / numClips;
                for (int i = 0; i < numClips; i++) offsets[i] = (int)Math.Round(i * ratio, MidpointRounding.ToEven);
            }
        }
        else if (numFrames > span - 1)
        {
            double avg = (numFrames - span + 1) / (double)numClips;
            for (int i = 0; i < numClips; i++) offsets[i] = (int)(i * avg + avg / 2.0);
        }
        return offsets;
    }

    /// <summary>
    /// Frame indices of <paramref name="numClips"/> clips, clip after clip
    /// (<paramref name="numClips"/> * <paramref name="clipLength"/> values). Indices at or past the end
    /// wrap around modulo <paramref name="numFrames"/>.
    /// </summary>
    /// <param name="numFrames">Frames in the video.</param>
    /// <param name="clipLength">Frames per clip.</param>
    /// <param name="frameInterval">Step between sampled frames of a clip.</param>
    /// <param name="numClips">Number of clips.</param>
    /// <param name="training">Random (true) or deterministic centred (false) offsets.</param>
    /// <param name="rng">Random source (training only).</param>
    /// <returns>The frame indices.</returns>
    public static int[] SampleFrames(int numFrames, int clipLength, int frameInterval, int numClips, bool training, Random? rng)
    {
        var offsets = ClipOffsets(numFrames, clipLength, frameInterval, numClips, training, rng);
        var idx = new int[numClips * clipLength];
        for (int c = 0; c < numClips; c++)
            for (int j = 0; j < clipLength; j++)
                idx[c * clipLength + j] = (offsets[c] + j * frameInterval) % numFrames;
        return idx;
    }

    /// <summary>
    /// TSN segment sampling: the video is cut into <paramref name="numSegments"/> equal segments and one
    /// frame is taken from each: a random frame of the segment in training, its centre at test time.
    /// </summary>
    /// <param name="numFrames">Frames in the video.</param>
    /// <param name="numSegments">Segments (= frames returned).</param>
    /// <param name="training">Random (true) or centre (false) frame per segment.</param>
    /// <param name="rng">Random source (training only).</param>
    /// <returns><paramref name="numSegments"/> frame indices.</returns>
    public static int[] Segments(int numFrames, int numSegments, bool training, Random? rng) =>
        SampleFrames(numFrames, 1, 1, numSegments, training, rng);

    /// <summary>
    /// A dense training clip: <paramref name="clipLength"/> frames <paramref name="frameInterval"/>
    /// apart from a random start.
    /// </summary>
    /// <param name="numFrames">Frames in the video.</param>
    /// <param name="clipLength">Frames per clip.</param>
    /// <param name="frameInterval">Step between frames.</param>
    /// <param name="rng">Random source.</param>
    /// <returns><paramref name="clipLength"/> frame indices.</returns>
    public static int[] Dense(int numFrames, int clipLength, int frameInterval, Random rng) =>
        SampleFrames(numFrames, clipLength, frameInterval, 1, true, rng);

    /// <summary>
    /// Test-time uniform clips: <paramref name="numClips"/> dense clips evenly spaced over the video
    /// (each centred in its share of the start range).
    /// </summary>
    /// <param name="numFrames">Frames in the video.</param>
    /// <param name="clipLength">Frames per clip.</param>
    /// <param name="frameInterval">Step between frames.</param>
    /// <param name="numClips">Number of clips.</param>
    /// <returns><paramref name="numClips"/> * <paramref name="clipLength"/> frame indices, clip after clip.</returns>
    public static int[] Uniform(int numFrames, int clipLength, int frameInterval, int numClips) =>
        SampleFrames(numFrames, clipLength, frameInterval, numClips, false, null);

    private static void Check(int numFrames, int clipLength, int frameInterval, int numClips)
    {
        if (numFrames <= 0) throw new ArgumentOutOfRangeException(nameof(numFrames), numFrames, "a video needs at least one frame");
        if (clipLength <= 0) throw new ArgumentOutOfRangeException(nameof(clipLength), clipLength, "must be positive");
        if (frameInterval <= 0) throw new ArgumentOutOfRangeException(nameof(frameInterval), frameInterval, "must be positive");
        if (numClips <= 0) throw new ArgumentOutOfRangeException(nameof(numClips), numClips, "must be positive");
    }
}

/// <summary>Chooses which frames of a video make up a sample's clips.</summary>
public abstract class FrameSampler
{
    /// <summary>Frames per clip (T of the (T, 3, H, W) output).</summary>
    public abstract int FramesPerClip { get; }

    /// <summary>Clips taken per sample (1 in training; more for multi-clip testing).</summary>
    /// <param name="training">Training or test mode.</param>
    /// <returns>The clip count.</returns>
    public abstract int ClipsPerSample(bool training);

    /// <summary>Frame indices for one sample: <see cref="ClipsPerSample"/> clips of <see cref="FramesPerClip"/> frames, clip after clip.</summary>
    /// <param name="numFrames">Frames in the video.</param>
    /// <param name="training">Training (random) or test (deterministic) sampling.</param>
    /// <param name="rng">Random source.</param>
    /// <returns>The 0-based frame indices.</returns>
    public abstract int[] Sample(int numFrames, bool training, Random rng);
}

/// <summary>TSN sampling: one frame from each of <see cref="NumSegments"/> equal segments form one clip (T = segments).</summary>
public sealed class SegmentSampler : FrameSampler
{
    /// <summary>Creates the sampler.</summary>
    /// <param name="numSegments">Segments per video (the clip length T).</param>
    public SegmentSampler(int numSegments)
    {
        if (numSegments <= 0) throw new ArgumentOutOfRangeException(nameof(numSegments), numSegments, "must be positive");
        NumSegments = numSegments;
    }

    /// <summary>Segments per video.</summary>
    public int NumSegments { get; }

    /// <inheritdoc />
    public override int FramesPerClip => NumSegments;

    /// <inheritdoc />
    public override int ClipsPerSample(bool training) => 1;

    /// <inheritdoc />
    public override int[] Sample(int numFrames, bool training, Random rng) => FrameSampling.Segments(numFrames, NumSegments, training, rng);
}

/// <summary>
/// A clip of <see cref="ClipLength"/> frames <see cref="FrameInterval"/> apart, one per sample in training and
/// <see cref="TestClips"/> at test time; the subclasses differ only in where the clips start.
/// </summary>
public abstract class StridedClipSampler : FrameSampler
{
    /// <summary>Checks and keeps the clip geometry.</summary>
    /// <param name="clipLength">Frames per clip.</param>
    /// <param name="frameInterval">Step between frames.</param>
    /// <param name="testClips">Clips per video at test time.</param>
    protected StridedClipSampler(int clipLength, int frameInterval, int testClips)
    {
        if (clipLength <= 0) throw new ArgumentOutOfRangeException(nameof(clipLength), clipLength, "must be positive");
        if (frameInterval <= 0) throw new ArgumentOutOfRangeException(nameof(frameInterval), frameInterval, "must be positive");
        if (testClips <= 0) throw new ArgumentOutOfRangeException(nameof(testClips), testClips, "must be positive");
        ClipLength = clipLength;
        FrameInterval = frameInterval;
        TestClips = testClips;
    }

    /// <summary>Frames per clip.</summary>
    public int ClipLength { get; }

    /// <summary>Step between frames.</summary>
    public int FrameInterval { get; }

    /// <summary>Clips per video at test time.</summary>
    public int TestClips { get; }

    /// <inheritdoc />
    public override int FramesPerClip => ClipLength;

    /// <inheritdoc />
    public override int ClipsPerSample(bool training) => training ? 1 : TestClips;
}

/// <summary>
/// Dense clips: <see cref="StridedClipSampler.ClipLength"/> frames <see cref="StridedClipSampler.FrameInterval"/> apart, from a random start in
/// training; at test time <see cref="StridedClipSampler.TestClips"/> clips evenly spaced over the video.
/// </summary>
public sealed class DenseSampler : StridedClipSampler
{
    /// <summary>Creates the sampler.</summary>
    /// <param name="clipLength">Frames per clip.</param>
    /// <param name="frameInterval">Step between frames.</param>
    /// <param name="testClips">Uniform clips per video at test time.</param>
    public DenseSampler(int clipLength, int frameInterval = 1, int testClips = 1)
        : base(clipLength, frameInterval, testClips) { }

    /// <inheritdoc />
    public override int[] Sample(int numFrames, bool training, Random rng) =>
        training ? FrameSampling.Dense(numFrames, ClipLength, FrameInterval, rng) : FrameSampling.Uniform(numFrames, ClipLength, FrameInterval, TestClips);
}

/// <summary>
/// The official SIFA sampling (<c>dataset/video_dataset.py</c>, one segment): <see cref="StridedClipSampler.ClipLength"/> frames
/// <see cref="StridedClipSampler.FrameInterval"/> apart (1: consecutive frames). Training: the clip starts at a uniformly random frame of
/// <c>[0, frames − span]</c>. Testing: clip <c>i</c> of <see cref="StridedClipSampler.TestClips"/> starts at <c>⌊(frames − span)·i/clips⌋</c>
/// (the first clip at the video's start, unlike <see cref="DenseSampler"/>'s centred clips). A video shorter than the span
/// starts at 0 and loops (the official code refuses it).
/// </summary>
public sealed class ConsecutiveSampler : StridedClipSampler
{
    /// <summary>Creates the sampler.</summary>
    /// <param name="clipLength">Frames per clip.</param>
    /// <param name="frameInterval">Step between frames (the official <c>num_steps</c>; 1: consecutive).</param>
    /// <param name="testClips">Clips per video at test time.</param>
    public ConsecutiveSampler(int clipLength, int frameInterval = 1, int testClips = 1)
        : base(clipLength, frameInterval, testClips) { }

    /// <inheritdoc />
    public override int[] Sample(int numFrames, bool training, Random rng)
    {
        if (numFrames <= 0) throw new ArgumentOutOfRangeException(nameof(numFrames), numFrames, "a video needs at least one frame");
        int span = ClipLength * FrameInterval, room = Math.Max(0, numFrames - span), clips = ClipsPerSample(training);
        var idx = new int[clips * ClipLength];
        for (int c = 0; c < clips; c++)
        {
            int start = training ? rng.Next(room + 1) : (int)((double)room * c / clips);
            for (int j = 0; j < ClipLength; j++) idx[c * ClipLength + j] = (start + j * FrameInterval) % numFrames;
        }
        return idx;
    }
}

/// <summary>The frame-sampling schemes the command line offers (<c>--sampling</c>).</summary>
public enum SamplingMode
{
    /// <summary><see cref="DenseSampler"/>: a clip of frames an interval apart, centred test clips (mmaction2).</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("dense")] Dense,

    /// <summary><see cref="ConsecutiveSampler"/>: the official SIFA sampling (interval 1 by default).</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("consecutive")] Consecutive,

    /// <summary><see cref="SegmentSampler"/>: TSN-style, one frame from each of T equal segments.</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("segments")] Segments,
}

/// <summary>Builds a <see cref="FrameSampler"/> from a <see cref="SamplingMode"/>.</summary>
public static class FrameSamplers
{
    /// <summary>The default frame interval of a mode (dense: 2, consecutive: 1; segments take none).</summary>
    public static int DefaultInterval(SamplingMode mode) => mode == SamplingMode.Dense ? 2 : 1;

    /// <summary>The sampler of <paramref name="mode"/>.</summary>
    /// <param name="mode">The scheme.</param>
    /// <param name="frames">Frames per clip (T).</param>
    /// <param name="interval">Frame interval (dense, consecutive).</param>
    /// <param name="testClips">Clips per video at test time (dense, consecutive).</param>
    /// <returns>The sampler.</returns>
    public static FrameSampler Create(SamplingMode mode, int frames, int interval, int testClips) => mode switch
    {
        SamplingMode.Dense => new DenseSampler(frames, interval, testClips),
        SamplingMode.Consecutive => new ConsecutiveSampler(frames, interval, testClips),
        SamplingMode.Segments => new SegmentSampler(frames),
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown sampling mode"),
    };
}
