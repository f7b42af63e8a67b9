// The long-document eval's filler: short titled sections, about music and everyday life, that answer none of the labelled questions; they surround each answer so that it lies deep in a long text.

/** A titled paragraph; none is about harmony, mixing, mastering, rhythm, form, melody or sound design. */
export interface FillerSection {
  title: string;
  text: string;
}

export const fillerSections: readonly FillerSection[] = [
  {
    title: "Changing guitar strings",
    text:
      "Change strings one at a time so the neck keeps its tension. Wind three or four turns around each post, stretch every new string gently along its length, and retune several times before the first rehearsal. Old strings go dull and refuse to stay in tune above the twelfth fret.",
  },
  {
    title: "Looking after an acoustic piano",
    text:
      "A piano wants a technician's visit once or twice a year, and more often after a move. Keep it away from radiators and sunny windows, because swings in humidity crack soundboards and loosen tuning pins. A cheap hygrometer inside the room tells you when to run a humidifier.",
  },
  {
    title: "Sight-reading practice",
    text:
      "Read something new every day, a little below your playing level, and never stop to fix a wrong note. Look ahead of the beat you are playing, scan the key and time signatures before starting, and count out loud. Hymn books and easy duets are a cheap source of fresh material.",
  },
  {
    title: "Interval ear training",
    text:
      "Learn each interval by a tune you already know: a rising fourth opens many wedding marches, a rising sixth begins a famous drinking song. Sing the interval before checking it on the instrument. Ten minutes a day does more than an hour once a week.",
  },
  {
    title: "Protecting your hearing",
    text:
      "Rehearsal rooms and clubs regularly pass one hundred decibels, loud enough to harm hearing within minutes. Musicians' earplugs with flat filters lower the level evenly, so the band still sounds natural. Take breaks in a quiet room and keep headphone levels moderate on the way home.",
  },
  {
    title: "Backing up your sessions",
    text:
      "Keep three copies of every project: the working drive, a second drive at home, and one copy somewhere else, such as a cloud folder. Test a restore now and then, since a backup nobody has opened is only a hope. Collect all audio into the project folder before archiving it.",
  },
  {
    title: "Naming files and takes",
    text:
      "Give every recording a name that sorts well: the date first, then the song, then the instrument and take number. Avoid spaces and accents if files travel between computers. A short text file in the project folder can record which take the band preferred and why.",
  },
  {
    title: "Cables on stage",
    text:
      "Coil cables over and under so they lie flat and never twist. Label both ends with coloured tape, tape runs down where people walk, and carry spares of every kind you use. A cable tester in the gig bag settles arguments about which lead is crackling.",
  },
  {
    title: "Choosing a keyboard controller",
    text:
      "Count the keys you really need: twenty-five fit a backpack, forty-nine suit most desks, eighty-eight weighted keys suit pianists. Check that the knobs and faders map to your software without fuss, and that the keybed responds evenly across velocities. Aftertouch is nice but rarely decisive.",
  },
  {
    title: "Buffer size and latency",
    text:
      "A small audio buffer keeps the delay between playing and hearing short, which matters while recording. A large buffer lets the computer run many plugins without clicks and dropouts. Most people record with 64 or 128 samples and raise the setting later when editing.",
  },
  {
    title: "Treating a small room",
    text:
      "Place absorbent panels at the first reflection points on the side walls, found by sliding a mirror along the wall until you see the speakers from your chair. A rug on a hard floor and a bookshelf at the back wall help too. Egg-box foam does very little.",
  },
  {
    title: "Placing studio monitors",
    text:
      "Set the two speakers and your head at the corners of an equilateral triangle, with the tweeters at ear height. Keep the speakers off the desk surface with stands or foam pads, and away from corners. Sit in the same place every time you listen critically.",
  },
  {
    title: "Storing microphones",
    text:
      "Condenser microphones dislike damp air and dust, so store them in their cases with a sachet of silica gel. Never blow into a microphone to test it; scratch the grille gently instead. Ribbon microphones should stay upright and away from strong gusts of air.",
  },
  {
    title: "Phantom power",
    text:
      "Condenser microphones need forty-eight volts of phantom power from the preamp or mixer. Switch it on only after the cable is connected and turn the channel down first, or the speakers may pop. Most dynamic microphones ignore phantom power, but old ribbons can be damaged by it.",
  },
  {
    title: "Performing rights organizations",
    text:
      "Join the performing rights organization of your country to collect money when your songs are played in public, on radio or on television. Register every song with its writers and their shares. Payments arrive months after the plays, so keep your registrations current.",
  },
  {
    title: "Sync licensing",
    text:
      "Film, television and advertising pay to place music in pictures, which is called a sync licence. Music supervisors want clean instrumental versions, clear ownership and a quick answer. A library or agent can pitch your catalogue, taking a share of the fee in return.",
  },
  {
    title: "Booking a first tour",
    text:
      "Start with a loop of nearby towns you can drive back from, and pair up with a local band in each place so that someone brings an audience. Confirm every date in writing with the fee, load-in time and backline. Leave a spare evening for a breakdown or a flat tyre.",
  },
  {
    title: "Running a merch table",
    text:
      "Bring a small range: a shirt in a few sizes, a record, stickers and a tote bag. Show prices in large print, accept cards, and put someone friendly behind the table after the set. Count stock before and after the night so nothing goes missing.",
  },
  {
    title: "An electronic press kit",
    text:
      "A good press kit fits on one page: a short biography, two or three photographs in high resolution, links to your best recordings and videos, upcoming dates and a contact address. Journalists and bookers skim, so put the most striking facts first.",
  },
  {
    title: "Release metadata",
    text:
      "Distributors ask for an ISRC code per recording, the songwriters and their publishers, the label name, the genre and the release date. Spell names the same way everywhere so credits and payments find the right people. Keep the metadata in one spreadsheet for every release.",
  },
  {
    title: "Splitting songwriting credit",
    text:
      "Agree on songwriting splits on the day a song is written, while everyone remembers who brought what. Write the percentages down and have each writer sign. Many disputes between former bandmates began with a handshake and a vague memory years later.",
  },
  {
    title: "Registering copyright",
    text:
      "A song is protected by copyright as soon as it is fixed in a recording or on paper, but registration makes it far easier to prove ownership. Keep dated demos and lyric drafts. Copyright in a composition and in a particular recording of it are separate rights.",
  },
  {
    title: "The harpsichord's decline",
    text:
      "The harpsichord plucks its strings, so a player cannot make one note louder than another by touch. When the fortepiano arrived in the eighteenth century, composers welcomed its dynamics, and within a few decades the older instrument was mostly left to museums and revivals.",
  },
  {
    title: "The first phonographs",
    text:
      "Thomas Edison's phonograph of 1877 recorded sound as grooves on a cylinder wrapped in tinfoil. Flat discs, promoted by Emile Berliner, proved easier to copy and store, and by the 1910s the disc had largely won. Early recordings lasted only two or three minutes a side.",
  },
  {
    title: "The electric guitar",
    text:
      "Guitarists in big bands of the 1930s fitted magnetic pickups so they could be heard over the horns. Solid-body instruments in the early 1950s removed the feedback that plagued hollow bodies at high volume, and amplifiers soon became part of the instrument's voice.",
  },
  {
    title: "Pressing vinyl",
    text:
      "A vinyl release starts with a lacquer cut on a lathe, from which metal stampers are made by electroplating. The plant sends test pressings to check for noise and skips before the run. Long sides hold less level, so very long albums are often spread over two discs.",
  },
  {
    title: "Cassette culture",
    text:
      "In the 1980s home taping let bands copy their own releases and trade them by post. Fanzines listed addresses, and whole scenes grew through envelopes of tapes. Cassettes have returned as a cheap physical product that fans buy at shows, often with a download code.",
  },
  {
    title: "Orchestral seating",
    text:
      "In most modern orchestras the first violins sit to the conductor's left, the cellos and violas in front or to the right, the woodwinds in the middle behind the strings, and brass and percussion at the back. Some conductors seat the second violins opposite the first.",
  },
  {
    title: "Conducting patterns",
    text:
      "Conductors beat time with standard shapes: down and up for two, a triangle for three, a cross for four. The first beat of each bar always falls straight down, so players can find it at a glance. The left hand shapes phrasing and cues entrances.",
  },
  {
    title: "Notation software",
    text:
      "Notation programs turn typed or played notes into printed parts. Enter music with a keyboard shortcut for each duration, check page turns for every player, and export the individual parts rather than printing the score for everyone. A consistent house style saves rehearsal time.",
  },
  {
    title: "Transposing instruments",
    text:
      "A clarinet in B flat sounds a whole tone lower than written, and a horn in F sounds a fifth lower. Parts are written this way so players can use the same fingerings on instruments of different sizes. Arrangers must transpose each part before printing it.",
  },
  {
    title: "Breathing for wind players",
    text:
      "Wind players breathe low, filling the lower ribs and back first, and keep the shoulders relaxed. Long tones at a soft dynamic build control, and marking breaths in the part stops a phrase from running out of air. Posture matters more than lung size.",
  },
  {
    title: "Choosing drumsticks",
    text:
      "Stick sizes run from thin 7A models for quiet jazz to heavy 2B models for loud rock. Wood tips sound warmer on cymbals, nylon tips brighter and longer lasting. Roll a stick on a flat table before buying: a warped stick wobbles.",
  },
  {
    title: "Rosin for bowed strings",
    text:
      "Rosin gives the bow hair grip on the string. Apply a few strokes before playing, wipe the white dust off the strings and the varnish afterwards, and replace the cake when it becomes glassy and smooth. Dark rosin is softer and suits cold rooms.",
  },
  {
    title: "Ukulele tunings",
    text:
      "Most ukuleles are tuned G, C, E, A with the G string higher than the C, a re-entrant tuning that gives the bright, close sound of the instrument. Baritone ukuleles use the top four strings of a guitar instead. Nylon strings stretch for about a week.",
  },
  {
    title: "Teaching children music",
    text:
      "Young children learn music through singing, moving and playing simple percussion long before they read notes. Keep lessons short and playful, let them choose some pieces, and praise practice rather than talent. Parents who listen at home matter more than any method book.",
  },
  {
    title: "Busking",
    text:
      "Many cities require a permit to play on the street and limit where and how long you may play. Pick a spot with passers-by who can stop safely, bring a card reader as well as a hat, and keep the volume friendly for nearby shops.",
  },
  {
    title: "Rehearsal room etiquette",
    text:
      "Arrive on time with instruments tuned and parts learned. Agree before the session what will be rehearsed, keep talk between songs short, and leave the room as you found it. Recording rehearsals on a phone shows problems that nobody hears while playing.",
  },
  {
    title: "Tinnitus",
    text:
      "Tinnitus is a ringing or hissing in the ears with no outside source. A short bout after a concert is a warning sign of damage. See an audiologist if it lasts, and protect your hearing from then on, since most noise-induced damage is permanent.",
  },
  {
    title: "Keeping a sourdough starter",
    text:
      "Feed a sourdough starter equal weights of flour and water once a day at room temperature, or once a week in the fridge. It is ready to bake with when it doubles within a few hours and smells pleasantly sour. A layer of grey liquid on top only means it is hungry.",
  },
  {
    title: "Pruning tomato plants",
    text:
      "Pinch out the side shoots that grow between the main stem and the leaves of cordon tomatoes, and tie the stem to a cane as it grows. Water deeply and regularly to prevent split fruit. Remove the lowest leaves once the first truss is set.",
  },
  {
    title: "Pour-over coffee",
    text:
      "Use about sixty grams of coffee per litre of water, ground like coarse sand, with water just off the boil. Wet the grounds and wait thirty seconds for them to bloom before pouring the rest in slow circles. A bitter cup usually means the grind was too fine.",
  },
  {
    title: "Packing for a day hike",
    text:
      "Carry water, food, a map, a warm layer, a rain jacket, a small first-aid kit and a headlamp, even on a short walk. Tell someone your route and expected return. Mountain weather changes quickly, so turn back early rather than late.",
  },
  {
    title: "A healthy desk setup",
    text:
      "Set the screen at arm's length with its top at eye level, and the chair so the feet rest flat on the floor. Stand up and walk around every half hour. A standing desk helps only if you actually alternate between sitting and standing.",
  },
  {
    title: "Keeping houseplants alive",
    text:
      "More houseplants die from too much water than too little. Water when the top few centimetres of soil are dry, use pots with drainage holes, and move plants closer to the window in winter. Yellow lower leaves often mean soggy roots.",
  },
  {
    title: "Bicycle chain care",
    text:
      "Wipe the chain with a rag after wet rides, clean it properly every few hundred kilometres, and apply a drop of lubricant to each roller. Wipe off the excess, since oil on the outside only collects grit. A chain checker tells you when it has stretched.",
  },
  {
    title: "A simple monthly budget",
    text:
      "List fixed costs such as rent and insurance first, then set amounts for food, transport and fun, and move a fixed sum into savings on payday. Review the month's spending at the end of each month and adjust the amounts rather than giving up.",
  },
  {
    title: "Choosing a practice space",
    text:
      "A shared rehearsal studio rented by the hour suits a band that meets weekly, while a monthly lockout room suits a band that leaves its gear set up. Ask about security, parking, heating and how loud the neighbours play before signing anything.",
  },
];
