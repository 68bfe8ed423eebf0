<?xml version="1.0" encoding="UTF-8"?>
<sld:StyledLayerDescriptor xmlns:ogc="http://www.opengis.net/ogc" xmlns:se="http://www.opengis.net/se" xmlns:sld="http://www.opengis.net/sld" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1.0" xsi:schemaLocation="http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd">
 <sld:NamedLayer>
  <se:Name>road_segments</se:Name>
  <sld:UserStyle>
   <se:Name>road_segments</se:Name>
   <se:Description>
    <se:Title>Road segments</se:Title>
   </se:Description>
   <se:FeatureTypeStyle>
    <se:Rule>
     <se:Name>motorway</se:Name>
     <se:Description>
      <se:Title>motorway</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>motorway</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#e8467c</se:SvgParameter>
       <se:SvgParameter name="stroke-width">3</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>trunk</se:Name>
     <se:Description>
      <se:Title>trunk</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>trunk</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#f07f3c</se:SvgParameter>
       <se:SvgParameter name="stroke-width">2.7</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>primary</se:Name>
     <se:Description>
      <se:Title>primary</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>primary</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#f4a73b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">2.25</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>secondary</se:Name>
     <se:Description>
      <se:Title>secondary</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>secondary</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#e6c84f</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.875</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>tertiary</se:Name>
     <se:Description>
      <se:Title>tertiary</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>tertiary</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#9b9b9b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.5</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>unclassified</se:Name>
     <se:Description>
      <se:Title>unclassified</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>unclassified</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#b0b0b0</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.275</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>residential</se:Name>
     <se:Description>
      <se:Title>residential</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>residential</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#bdbdbd</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.2</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>service</se:Name>
     <se:Description>
      <se:Title>service</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>service</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#d9d9d9</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.9</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>motorway_link</se:Name>
     <se:Description>
      <se:Title>motorway link</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>motorway_link</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#e8467c</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.8</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>trunk_link</se:Name>
     <se:Description>
      <se:Title>trunk link</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>trunk_link</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#f07f3c</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.65</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>primary_link</se:Name>
     <se:Description>
      <se:Title>primary link</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>primary_link</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#f4a73b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.5</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>secondary_link</se:Name>
     <se:Description>
      <se:Title>secondary link</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>secondary_link</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#e6c84f</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.35</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>tertiary_link</se:Name>
     <se:Description>
      <se:Title>tertiary link</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>tertiary_link</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#9b9b9b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.2</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>living_street</se:Name>
     <se:Description>
      <se:Title>living street</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>living_street</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#c7c7c7</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.05</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>pedestrian</se:Name>
     <se:Description>
      <se:Title>pedestrian</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>pedestrian</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#dddde8</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.9</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>track</se:Name>
     <se:Description>
      <se:Title>track</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>track</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a87e3c</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.75</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>busway</se:Name>
     <se:Description>
      <se:Title>busway</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>busway</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#4a78b8</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.05</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>bus_guideway</se:Name>
     <se:Description>
      <se:Title>bus guideway</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>bus_guideway</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#4a78b8</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.05</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>road</se:Name>
     <se:Description>
      <se:Title>road</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>road</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#c4c4c4</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.05</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>escape</se:Name>
     <se:Description>
      <se:Title>escape</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>escape</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#c4c4c4</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.75</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>footway</se:Name>
     <se:Description>
      <se:Title>footway</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>footway</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#fa8072</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.525</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>path</se:Name>
     <se:Description>
      <se:Title>path</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>path</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#fa8072</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.525</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>cycleway</se:Name>
     <se:Description>
      <se:Title>cycleway</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>cycleway</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#2e7bd6</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.525</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>bridleway</se:Name>
     <se:Description>
      <se:Title>bridleway</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>bridleway</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#3f9c3f</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.525</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>steps</se:Name>
     <se:Description>
      <se:Title>steps</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>steps</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#fa8072</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.525</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>corridor</se:Name>
     <se:Description>
      <se:Title>corridor</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>road_class</ogc:PropertyName>
       <ogc:Literal>corridor</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#e0a0a0</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.45</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>other</se:Name>
     <se:Description>
      <se:Title>other</se:Title>
     </se:Description>
     <se:ElseFilter />
     <se:LineSymbolizer>
      <se:Stroke>
       <se:SvgParameter name="stroke">#9e9e9e</se:SvgParameter>
       <se:SvgParameter name="stroke-width">1.5</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:LineSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>label name</se:Name>
     <se:MaxScaleDenominator>8531</se:MaxScaleDenominator>
     <se:TextSymbolizer>
      <se:Label>
       <ogc:PropertyName>name</ogc:PropertyName>
      </se:Label>
      <se:Font>
       <se:SvgParameter name="font-family">DejaVu Sans</se:SvgParameter>
       <se:SvgParameter name="font-size">10.6667</se:SvgParameter>
      </se:Font>
      <se:LabelPlacement>
       <se:LinePlacement />
      </se:LabelPlacement>
      <se:Halo>
       <se:Radius>1.5</se:Radius>
       <se:Fill>
        <se:SvgParameter name="fill">#ffffff</se:SvgParameter>
        <se:SvgParameter name="fill-opacity">0.8</se:SvgParameter>
       </se:Fill>
      </se:Halo>
      <se:Fill>
       <se:SvgParameter name="fill">#222222</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
     </se:TextSymbolizer>
    </se:Rule>
   </se:FeatureTypeStyle>
  </sld:UserStyle>
 </sld:NamedLayer>
</sld:StyledLayerDescriptor>
